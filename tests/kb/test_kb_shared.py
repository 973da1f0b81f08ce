"""The engine over the project's shared knowledge base (../shared/kb), when it is there."""

from __future__ import annotations

import datetime as dt
from typing import Iterator

import pytest

from desk.kb.engine import KnowledgeBase
from desk.kb.evaluate import DEFAULT_QUESTIONS, load_questions, metrics, run
from desk.settings import ROOT
from tests.kb.conftest import SHARED_KB, embedded_kb

pytestmark = pytest.mark.skipif(not SHARED_KB.is_dir(), reason=f"no shared knowledge base at {SHARED_KB}")
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def lexical_kb() -> Iterator[KnowledgeBase]:
    yield KnowledgeBase(SHARED_KB, embedder=None)


@pytest.fixture(scope="module")
def full_kb() -> Iterator[KnowledgeBase]:
    yield embedded_kb(SHARED_KB)


def test_kb_shared_documents_all_load(lexical_kb: KnowledgeBase) -> None:
    listing = lexical_kb.documents(today=TODAY)

    assert listing["errors"] == []
    assert len(listing["documents"]) == len(list(SHARED_KB.glob("*.md")))


@pytest.mark.parametrize(
    "question, doc_id, fact",
    [
        ("公积金贷款最多能贷多少", "kb-007-gongjijindaikuan-2026", "60万元"),
        ("2025年的公积金贷款额度", "kb-006-gongjijindaikuan-2025", "50万元"),
        ("城乡居民医保2026年度个人缴费标准", "kb-013-jumingyibao-2026", "400元"),
        ("2025年度城乡居民医保个人缴费标准", "kb-012-jumingyibao-2025", "380元"),
    ],
)
def test_kb_shared_superseded_versions(
    lexical_kb: KnowledgeBase, question: str, doc_id: str, fact: str
) -> None:
    answer = lexical_kb.answer(question, today=TODAY)

    assert answer.sources[0]["id"] == doc_id
    assert fact in answer.answer


def test_kb_shared_lexical_fallback_refuses_the_unrelated(lexical_kb: KnowledgeBase) -> None:
    for question in ["明天会下雨吗", "给我推荐一只股票", "养狗要办狗证吗"]:
        assert lexical_kb.answer(question, today=TODAY).sources == []


def test_kb_shared_question_set(full_kb: KnowledgeBase) -> None:
    questions = load_questions(DEFAULT_QUESTIONS)

    figures = metrics(run(full_kb, questions, questions.today or TODAY))

    assert figures["top1"] >= 0.93
    assert figures["in_force_version"] >= 0.9
    assert figures["refusal"] >= 0.9
    assert figures["follow_up_top1"] == 1.0


@pytest.mark.parametrize(
    "question, fact",
    [
        ("租房子能取公积金吗，一年能取多少", "15600元"),  # the amount section, not the topic's opening
        ("灵活就业职工医保每月最少交多少", "336元"),
        ("居住证办下来要多少天", "15个工作日"),  # "多少天" asks a time, not an amount
    ],
)
def test_kb_shared_quotes_the_section_the_question_asks_for(
    lexical_kb: KnowledgeBase, question: str, fact: str
) -> None:
    assert fact in lexical_kb.answer(question, today=TODAY).answer


def test_kb_shared_follow_up_in_the_context_documents_words_stays_there(lexical_kb: KnowledgeBase) -> None:
    # kb-033 has a heading "报修电话", but the 供暖 document has 报修 too: stay on it.
    answer = lexical_kb.answer("报修电话呢", context="kb-032-gongnuan", today=TODAY)

    assert answer.sources[0]["id"] == "kb-032-gongnuan"
    assert "0000-6143232" in answer.answer


def test_kb_shared_follow_up_about_something_else_leaves_the_context(full_kb: KnowledgeBase) -> None:
    answer = full_kb.answer("停水了打什么电话", context="kb-032-gongnuan", today=TODAY)

    assert answer.sources[0]["id"] == "kb-033-tingshuitingdian"


def test_kb_shared_a_follow_up_that_alone_matches_nothing_stays_on_topic(full_kb: KnowledgeBase) -> None:
    question = "房子交了一直空着没住 也得全交吗"  # 物业费 of an empty flat

    assert full_kb.answer(question, today=TODAY).sources == []
    followed = full_kb.answer(question, context="kb-034-wuyefei", today=TODAY)
    assert followed.sources[0]["id"] == "kb-034-wuyefei"
    assert full_kb.answer("明天下雨不", context="kb-034-wuyefei", today=TODAY).sources == []


def test_kb_shared_the_embedding_outweighs_one_lucky_word(full_kb: KnowledgeBase) -> None:
    # "车" alone matches the parking and bulky-waste guides; the sentence is about a fallen tree.
    answer = full_kb.answer("刮大风把路边的大树刮倒了 压着我家车 打哪个电话", today=TODAY)

    assert answer.ranked[0] == "kb-037-shumuxiujian"


def test_kb_shared_long_colloquial_questions(full_kb: KnowledgeBase) -> None:
    questions = load_questions(ROOT / "desk" / "kb" / "eval" / "shared_train_colloquial.yml")

    figures = metrics(run(full_kb, questions, questions.today or TODAY))

    # Fitted on (a regression guard): top-1 0.91, refusal 0.8 (30 of its 40 are near-topic).
    assert figures["top1"] >= 0.86
    assert figures["refusal"] >= 0.75


def test_kb_shared_a_question_made_of_the_topics_words_stays_on_it(full_kb: KnowledgeBase) -> None:
    # Alone it matches 停水停电 (抢修 times too); after 燃气 it asks the gas company.
    question = "俺在北山县 抢修的多久能到"

    assert full_kb.answer(question, context="kb-031-ranqianquan", today=TODAY).sources[0]["id"] == (
        "kb-031-ranqianquan"
    )
    # One word of the topic is not enough to leave a question's own document.
    asked = "俺俩还没扯证 娃已经生了 想给娃上户口 咋整啊"
    assert full_kb.answer(asked, context="kb-019-dibao", today=TODAY).sources[0]["id"] == (
        "kb-003-xinshengerluohu"
    )


@pytest.mark.parametrize("question", ["那孩子的医保能顺便一起办吗？办完马上能用吗？", "那娃的医宝要多久内办"])
def test_kb_shared_a_follow_up_naming_another_policys_subject_moves_to_it(
    full_kb: KnowledgeBase, question: str
) -> None:
    # 新生儿落户 mentions 医保参保 once; 医保 is the subject of 新生儿医保's title, not of its own.
    answer = full_kb.answer(question, context="kb-003-xinshengerluohu", today=TODAY)

    assert answer.sources[0]["id"] == "kb-015-xinshengeryibao"
    # The context's own documents keep a question made of their words (see the next test).
    assert full_kb.answer("那出生证明呢", context="kb-003-xinshengerluohu", today=TODAY).sources[0]["id"] == (
        "kb-003-xinshengerluohu"
    )


@pytest.mark.parametrize(
    "question",
    [
        "帮我给我妈写几句生日祝福 要押韵的",  # 我妈 is a 老年人, the keyword of 高龄津贴
        "俺奶奶八十大寿 饭店摆几桌合适 点啥菜好",
        "俺娘灵活就业社保交满十五年了 退休以后一个月能领多少养老金",  # no document has 养老金
    ],
)
def test_kb_shared_people_and_pensions_are_no_topic(full_kb: KnowledgeBase, question: str) -> None:
    assert full_kb.answer(question, today=TODAY).sources == []


def test_kb_shared_a_shop_in_a_scenic_area_is_no_ticket_question(full_kb: KnowledgeBase) -> None:
    question = "俺爸妈来这旅游 在景区店里买了个玉镯子 回老家了才觉得不值想退 寄回去的运费谁出"

    assert full_kb.answer(question, today=TODAY).sources[0]["id"] == "kb-029-gouwutuihuo"


def test_kb_shared_a_negation_is_no_slip(lexical_kb: KnowledgeBase) -> None:
    question = "责令改正后还不办的话会被罚多少"

    assert lexical_kb._snapshot.homophones.correct(question) == question


@pytest.mark.parametrize(
    "question, doc",
    [
        ("老闆拖了三個月薪水不發，可以用手機在網上投訴嗎？", "kb-011-tuoqiangongzi"),
        ("那寶寶的醫保要在多久內辦？", "kb-015-xinshengeryibao"),  # after 新生儿落户
        ("厝里无电了，要去佗查几点会来电？", "kb-033-tingshuitingdian"),
    ],
)
def test_kb_shared_traditional_characters_and_minnan_words_are_understood(
    full_kb: KnowledgeBase, question: str, doc: str
) -> None:
    context = "kb-003-xinshengerluohu" if question.startswith("那") else None

    answer = full_kb.answer(question, context=context, today=TODAY)

    assert answer.sources[0]["id"] == doc


def test_kb_shared_a_parking_space_fee_is_no_parking_fine(full_kb: KnowledgeBase) -> None:
    # The 违停 guide is about fines; a 停车位's monthly fee is a question no document answers.
    assert full_kb.answer("小区地下停车位月租多少，物业收的停车费有标准吗", today=TODAY).sources == []
    fined = full_kb.answer("昨晚没车位停了消防通道，被罚了，罚多少", today=TODAY)
    assert fined.sources[0]["id"] == "kb-025-weitingchuli"


@pytest.mark.parametrize("question", ["燃气费一方多少钱", "来电人询问居民用天然气阶梯气价是怎么计算的"])
def test_kb_shared_gas_prices_are_not_in_the_gas_safety_guide(full_kb: KnowledgeBase, question: str) -> None:
    assert full_kb.answer(question, today=TODAY).sources == []


def test_kb_shared_everyone_is_no_thing_of_a_follow_up(full_kb: KnowledgeBase) -> None:
    # "大家" names nobody in particular: the follow-up stays on the ticket-discount policy.
    answer = full_kb.answer("那有没有哪一天是大家都免费进去的？", context="kb-028-jingqumenpiao", today=TODAY)

    assert answer.sources[0]["id"] == "kb-028-jingqumenpiao"


@pytest.mark.parametrize(
    "question",
    ["外地户口孩子在这上小学父母社保得交满多久", "我們是香港過來工作的，孩子想在這邊讀小學，社保要繳多久？"],
)
def test_kb_shared_a_described_policy_steers_the_embedding(full_kb: KnowledgeBase, question: str) -> None:
    # 外地 + 孩子 + 上小学 describe 随迁子女: the school admission guide, not the 社保 ones.
    assert full_kb.answer(question, today=TODAY).sources[0]["id"] == "kb-020-yiwujiaoyuruxue"


def test_kb_shared_whom_a_relayed_question_is_about_is_not_what_it_asks(full_kb: KnowledgeBase) -> None:
    # 老人 is in few documents' titles, but "有个老人" says whom the question is about.
    question = "我们社区有个老人今年3月份才补交了居民医保，交完马上就能报销吗？"

    assert full_kb.answer(question, today=TODAY).sources[0]["id"] == "kb-013-jumingyibao-2026"


def test_kb_shared_a_post_addressing_its_readers_stays_on_the_topic(full_kb: KnowledgeBase) -> None:
    answer = full_kb.answer("那要带啥材料啊 家人们 🙏", context="kb-010-shiyebaoxianjin", today=TODAY)

    assert answer.sources[0]["id"] == "kb-010-shiyebaoxianjin"


@pytest.mark.parametrize("question", ["居民医保今年一个人交多少", "居民医保费"])
def test_kb_shared_a_question_naming_no_newborn_gets_the_general_policy(
    full_kb: KnowledgeBase, question: str
) -> None:
    # The 新生儿 guide quotes the 400元 too; the general 缴费标准 answers everyone else.
    assert full_kb.answer(question, today=TODAY).sources[0]["id"] == "kb-013-jumingyibao-2026"


def test_kb_shared_a_follow_up_after_a_newborn_topic_stays_with_the_newborn(full_kb: KnowledgeBase) -> None:
    answer = full_kb.answer("那他的医保几时能用？", context="kb-003-xinshengerluohu", today=TODAY)

    assert answer.sources[0]["id"] == "kb-015-xinshengeryibao"


def test_kb_shared_a_day_counted_from_today_is_no_thing_of_a_follow_up(full_kb: KnowledgeBase) -> None:
    answer = full_kb.answer(
        "那我后天急着坐飞机，等不了，怎么办？", context="kb-004-shenfenzhengbuling", today=TODAY
    )

    assert answer.sources[0]["id"] == "kb-004-shenfenzhengbuling"


def test_kb_shared_a_first_home_is_the_documents_first_dwelling(full_kb: KnowledgeBase) -> None:
    # 首套房 is 首套住房: "套房贷款" is no loan the documents lack.
    answer = full_kb.answer("2025年公积金首套房贷款利率是多少来着 5年以上那种", today=TODAY)

    assert answer.sources[0]["id"] == "kb-006-gongjijindaikuan-2025"


def test_kb_shared_a_maternity_allowance_is_no_old_age_allowance(full_kb: KnowledgeBase) -> None:
    assert full_kb.answer("生完宝宝 生育津贴怎么申请 能领多少", today=TODAY).sources == []
    assert full_kb.answer("九十岁津贴", today=TODAY).sources[0]["id"] == "kb-016-gaolingjintie"


def test_kb_shared_the_housing_fund_is_not_withdrawn_for_medical_bills(full_kb: KnowledgeBase) -> None:
    # No document lets the fund pay for 看病; the 租房提取 guide must not answer it.
    question = "家里人得了大病，公积金能取出来看病不"
    assert full_kb.answer(question, today=TODAY).sources == []
    assert full_kb.answer("外地看病怎么报销", today=TODAY).sources[0]["id"] == "kb-014-yidijiuyibeian"


def test_kb_shared_speech_fillers_do_not_hide_the_thing_asked_about(full_kb: KnowledgeBase) -> None:
    # Through speech recognition: 就是说 is a filler, so the asking part reaches back to 居住证.
    question = "嗯 那个居住证啊 我的丢了 就是说 丢了 再补一个 要不要交钱 交多少"
    assert full_kb.answer(question, today=TODAY).sources[0]["id"] == "kb-001-juzhuzheng"
    question = "喂 我孙子刚出生 那个医保 就是说 要在多少天以内给他办上"
    assert full_kb.answer(question, today=TODAY).sources[0]["id"] == "kb-015-xinshengeryibao"


def test_kb_shared_a_slip_of_part_of_a_long_named_word_is_read(full_kb: KnowledgeBase) -> None:
    # 自形车 sounds like 自行车, part of the heading's 公共自行车.
    answer = full_kb.answer("那个公共自形车 骑一回 多长时间不要钱", today=TODAY)
    assert answer.sources[0]["id"] == "kb-026-diandongcheshangpai"


@pytest.mark.parametrize("question", ["居民医保 门诊 报销比例", "我们小区停车费 一个月 就是说 收多少才合理"])
def test_kb_shared_a_topic_named_before_the_asking_clause_counts(
    full_kb: KnowledgeBase, question: str
) -> None:
    # No document covers outpatient cover or residential parking fees.
    assert full_kb.answer(question, today=TODAY).sources == []
    assert full_kb.answer("居民医保 住院 报销比例", today=TODAY).sources[0]["id"] == "kb-013-jumingyibao-2026"


def test_kb_shared_a_later_clause_pointing_back_makes_a_follow_up(full_kb: KnowledgeBase) -> None:
    answer = full_kb.answer(
        "户口弄好了，那孩子的医保一年交多少？", context="kb-003-xinshengerluohu", today=TODAY
    )

    assert answer.sources[0]["id"] == "kb-015-xinshengeryibao"


@pytest.mark.parametrize(
    "question",
    [
        "新房子刚交房 供热公司让交暖气开栓费 这个该交多少钱",
        "小区想成立业委会要走什么程序",
        "闯红灯要罚多少钱扣几分",
    ],
)
def test_kb_shared_connection_fees_bodies_and_traffic_offences_are_not_covered(
    full_kb: KnowledgeBase, question: str
) -> None:
    # Near 供暖费, 物业 and 违停, but no document answers them.
    assert full_kb.answer(question, today=TODAY).sources == []
