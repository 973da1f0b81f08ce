"""Typed and spoken homophones of the documents' words (desk/kb/homophones.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import pytest

from desk.kb.engine import KnowledgeBase
from desk.kb.homophones import fuzzy_key
from tests.kb.conftest import write_filler

MakeKb = Callable[..., KnowledgeBase]
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def kb(tmp_path: Path, make_kb: MakeKb) -> KnowledgeBase:
    directory = tmp_path / "kb"
    directory.mkdir()
    write_filler(
        directory,
        [
            ("social", "灵活就业人员社保缴费指南", "社保", "缴费时间", "每月15日前通过银行代扣缴纳。"),
            ("permit", "居住证办理指南", "居住证", "办理时限", "材料齐全的15个工作日内办结。"),
            ("jobless", "失业金申领指南", "失业金", "发放时间", "每月10日前发放，可到就业经办机构查询。"),
            ("heating", "供暖收费标准", "供暖", "收费标准", "居民每平方米每季25元。"),
            ("stalls", "占道经营与摆摊管理", "摆摊", "疏导点", "夜市疏导点每月收取管理费。"),
            (
                "wages",
                "拖欠工资投诉指南",
                "欠薪",
                "办理途径",
                "可向劳动争议仲裁委员会申请仲裁，主要看劳动合同。",
            ),
        ],
    )
    return make_kb(directory)


@pytest.mark.parametrize(
    "question, corrected",
    [
        ("自己交社宝的话每个月几号之前要交上", "自己交社保的话每个月几号之前要交上"),  # same sound
        ("想办个居主证多久能好", "想办个居住证多久能好"),
        ("失业精每月几号发", "失业金每月几号发"),  # jin/jing: fuzzy, three characters
        # 失业 and 业经 both occur in the documents, 失业经 does not
        ("失业经一个月能领多少", "失业金一个月能领多少"),
        ("居住症多久能办好", "居住证多久能办好"),  # the lexicon's slip 居住正 is no rival
        # a citizen's word of the lexicon (采暖 -> 供暖), inside a token jieba made up
        ("彩暖费一平米多少钱", "采暖费一平米多少钱"),
        # the lexicon's slips 公基金 and 公机金 sound alike but mean the same: no rivals
        ("公鸡金才交了两个月", "公积金才交了两个月"),
        # a specialist word of a document's text (仲裁: one document, rare in general use)
        ("想申请劳动仲才要交钱不", "想申请劳动仲裁要交钱不"),
        # a held thing's suffix typed as a homophone, though no document names the thing
        ("驾驶正扣满12分了咋办", "驾驶证扣满12分了咋办"),
    ],
)
def test_a_slip_becomes_the_documents_word(kb: KnowledgeBase, question: str, corrected: str) -> None:
    assert kb._snapshot.homophones.correct(question) == corrected


@pytest.mark.parametrize(
    "question",
    [
        "家里只有白糖",  # baitang is no 摆摊 (baitan): two characters must sound exactly alike
        "我的事业刚起步",  # 事业 is a real word, not 失业
        "社保每月几号交",  # already the documents' word
        "今天心情不好想找人唠唠",  # 姥姥 (a lexicon word) shares no character with 唠唠
        # 主要 is in a document's text, but too common a word to be what a slip meant
        "外地人在本地住要办的那个证",
        "驾驶正常的车被拖走了",  # 正常 is a word of its own
    ],
)
def test_real_words_are_left_alone(kb: KnowledgeBase, question: str) -> None:
    assert kb._snapshot.homophones.correct(question) == question


def test_the_corrected_question_finds_its_document(kb: KnowledgeBase) -> None:
    answer = kb.answer("居主证要多久能办下来", today=TODAY)

    assert answer.ranked[0] == "permit"


def test_fuzzy_pairs() -> None:
    assert fuzzy_key("公积经") == fuzzy_key("公积金")
    assert fuzzy_key("资助") == fuzzy_key("支柱")  # z/zh
    assert fuzzy_key("失业") != fuzzy_key("就业")
