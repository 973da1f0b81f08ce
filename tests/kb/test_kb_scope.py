"""Near-topic questions (issue #4): the thing asked about must be what the document is about;
and reloads that redo only the changed documents' work."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable, Iterator

import pytest

from desk.kb.engine import KnowledgeBase
from desk.kb.routes import DEFAULT_KB_DIR
from desk.kb.scope import ObjectCheck
from desk.kb.text import Analyzer, normalize
from tests.kb.conftest import document_text

MakeKb = Callable[..., KnowledgeBase]
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def objects() -> ObjectCheck:
    return ObjectCheck(Analyzer())


@pytest.fixture(scope="module")
def demo_kb() -> Iterator[KnowledgeBase]:
    if not any(DEFAULT_KB_DIR.glob("*.md")):
        pytest.skip(f"no demo corpus at {DEFAULT_KB_DIR}")
    yield KnowledgeBase(DEFAULT_KB_DIR, embedder=None)


@pytest.mark.parametrize(
    "question, named",
    [
        ("结婚证丢了怎么补办", ["结婚证"]),
        ("社保卡丢了去哪补", ["社保卡"]),
        ("摩托车怎么上牌", ["摩托车"]),
        # An action, a measure word or a modal before the suffix names no new thing.
        ("居住证丢了补证要多少钱", ["居住证"]),
        ("家里有辆车还能申请低保吗", []),
        ("家里有车能吃低保不", []),  # 有车: owning one, not a thing asked about
        ("公积金贷款能多贷一点吗", ["公积金贷款"]),  # the loan, not "多贷"
        ("公积金贷款最多能贷多少", ["公积金贷款"]),
        # A suffix segmented apart joins its word; an action segmented onto a thing does not stay.
        ("网约车驾驶员证怎么考", ["网约车", "驾驶员证"]),
        ("商业贷款利率现在多少", ["商业贷款"]),
        ("租房提公积金要不要开无房证明", ["公积金", "无房证明"]),
        ("讨薪投诉要准备哪些证据", []),
        ("小区门口的大树倒了压到车了", []),
        ("树倒了压住我架车", []),  # 架: a measure word (Cantonese 一架车)
        ("摊位要交租金吗", []),  # paying the rent, no 交租金 thing
        ("看病要不要开一堆证明", []),  # a count before the suffix, no 一堆证明 thing
        ("夫妻都交公积金今年贷款最高能贷多少", ["公积金"]),  # a time before the noun, no 今年贷款
        ("网上备案不用交啥证明了吧", []),  # a question word before the suffix
        ("跑照相馆照了两寸的", []),  # 照 as a verb after a lexicon word
        # A sum the citizen paid or holds is a thing too.
        ("租房押金房东不退怎么办", ["押金"]),
        ("物业说要动用维修基金", ["基金"]),  # segmented 维修 + 基金
        ("幼儿园报名啥时候", ["幼儿园"]),  # and a kindergarten
        ("居民医保的大病保险二次报销咋申请", ["大病保险"]),  # 保险 segmented apart joins its word
    ],
)
def test_scope_finds_the_things_a_question_names(objects: ObjectCheck, question: str, named: list) -> None:
    assert [word for word, _ in objects.objects(question)] == named


def test_scope_accepts_the_documents_word_for_a_colloquial_one(objects: ObjectCheck) -> None:
    text = normalize("电动自行车应在购买之日起15日内办理登记上牌。")

    assert objects.foreign("电动车怎么上牌", text) == []
    assert objects.foreign("摩托车怎么上牌", text) == ["摩托车"]


@pytest.mark.parametrize("question", ["结婚证丢了怎么补办", "护照丢了怎么补办", "摩托车怎么上牌"])
def test_kb_refuses_a_near_topic_question_on_the_demo_corpus(demo_kb: KnowledgeBase, question: str) -> None:
    answer = demo_kb.answer(question, today=TODAY)

    assert answer.sources == []
    assert answer.evidence.get("foreign_object") == 1.0


@pytest.mark.parametrize(
    "question, doc_id",
    [("身份证丢了怎么补办", "sf-004-shenfenzhengbuban"), ("电瓶车怎么上牌", "sf-029-diandongcheshangpai")],
)
def test_kb_still_answers_the_covered_neighbour(demo_kb: KnowledgeBase, question: str, doc_id: str) -> None:
    answer = demo_kb.answer(question, today=TODAY)

    assert answer.sources and answer.sources[0]["id"] == doc_id


def test_kb_keyword_named_by_its_words(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)

    answer = kb.answer("公积金现在最多能贷多少", today=TODAY)

    assert answer.sources[0]["id"] == "loan-2026"
    assert answer.evidence["keyword"] == 1.0  # 公积金贷款, though never written together


def test_kb_reload_reanalyses_only_the_edited_document(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)
    before = {d.id: kb._snapshot.index._indexer._analysed[d.source] for d in kb._snapshot.documents}
    edited = document_text("permit.md").replace("15个工作日", "7个工作日")
    edited = edited.replace("暂住证]", "暂住证, 流动人口]")
    (kb_dir / "permit.md").write_text(edited, encoding="utf-8")

    kb.refresh(force=True)

    after = {d.id: kb._snapshot.index._indexer._analysed[d.source] for d in kb._snapshot.documents}
    assert after["permit"] is not before["permit"]
    assert all(after[i] is before[i] for i in before if i != "permit")
    assert "7个工作日" in kb.answer("居住证办理时限多久", today=TODAY).answer
    assert kb.answer("流动人口怎么办证", today=TODAY).evidence["keyword"] == 1.0


def test_kb_reload_drops_a_deleted_document_and_its_keywords(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)
    assert kb.answer("暖气不热打什么电话", today=TODAY).sources[0]["id"] == "heating"

    (kb_dir / "heating.md").unlink()
    kb.refresh(force=True)

    assert kb.document("heating") is None
    assert not kb.answer("暖气不热打什么电话", today=TODAY).sources
    assert not kb._snapshot.index._indexer.keywords.candidates({"暖气不热", "供暖期"})


def test_kb_reload_copies_unchanged_rows_exactly(kb_dir: Path) -> None:
    from desk.kb.bench import HashingEmbedder

    kb = KnowledgeBase(kb_dir, embedder=HashingEmbedder(), refresh_interval_s=0.0)
    edited = document_text("permit.md").replace("15个工作日", "7个工作日") + "\n## 补充说明\n流动人口登记。\n"
    (kb_dir / "permit.md").write_text(edited, encoding="utf-8")
    (kb_dir / "heating.md").unlink()
    (kb_dir / "zz-new.md").write_text(document_text("heating.md").replace("id: heating", "id: zz"), "utf-8")
    kb.refresh(force=True)
    fresh = KnowledgeBase(kb_dir, embedder=HashingEmbedder())

    assert [d.id for d in kb._snapshot.documents] == [d.id for d in fresh._snapshot.documents]
    for question in ["居住证办理时限多久", "暖气不热打什么电话", "公积金贷款额度"]:
        spliced = kb._features(kb._snapshot, question)
        rebuilt = fresh._features(fresh._snapshot, question)
        for name in ("bm25", "coverage", "similarity", "section_similarity", "keyword"):
            assert getattr(spliced, name) == pytest.approx(getattr(rebuilt, name), abs=1e-5), name
        assert kb.answer(question, today=TODAY).answer == fresh.answer(question, today=TODAY).answer
