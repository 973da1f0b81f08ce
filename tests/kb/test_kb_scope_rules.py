"""The scope rules of issue #5: a thing named only in passing (`side_object`), a procedure or
concept the document never names (`foreign_concept`), and keywords the lexicon completed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable, Dict

import numpy as np
import pytest

from desk.kb import engine
from desk.kb.engine import KnowledgeBase
from tests.kb.conftest import write_filler

MakeKb = Callable[..., KnowledgeBase]
TODAY = dt.date(2026, 6, 1)

DOCUMENTS: Dict[str, str] = {
    "idcard": (
        "title: 示范市居民身份证丢失补领指南\nkeywords: [身份证补办, 临时身份证]\n---\n"
        "## 所需材料\n本人户口簿；现场免费采集照片。\n\n## 收费标准\n丢失补领工本费40元。\n"
    ),
    "disability": (
        "title: 示范市残疾人两项补贴申请指南\nkeywords: [护理补贴, 残疾人证]\n---\n"
        "## 补贴对象\n持残疾人证的一级、二级残疾人。\n\n## 补贴标准\n护理补贴每人每月210元。\n"
    ),
    "fund-rent": (
        "title: 示范市住房公积金租房提取指南\nkeywords: [公积金提取, 住房公积金]\n---\n"
        "## 提取额度\n租房自住的，每人每年最高提取15600元。\n\n## 所需材料\n身份证、银行卡。\n"
    ),
    "fund-loan": (
        "title: 示范市住房公积金个人住房贷款额度标准\nkeywords: [公积金贷款, 首付比例]\n---\n"
        "## 贷款额度\n单方缴存职工最高可贷60万元。\n\n## 首付比例\n购买首套住房不低于15%。\n"
    ),
    "move-in": (
        "title: 示范市户口迁入办理指南\nkeywords: [户口迁入, 准迁证]\n---\n"
        "## 办理流程\n迁入地派出所审批后网上出具准迁证，无需回原籍开具迁移证。\n"
    ),
    "newborn": (
        "title: 示范市新生儿出生登记落户指南\nkeywords: [新生儿落户, 出生登记]\n---\n"
        "## 所需材料\n出生医学证明、父母双方身份证、结婚证。\n"
    ),
}


@pytest.fixture
def scope_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "kb"
    directory.mkdir()
    head = "department: CITY\ncategory: general\neffective: 2025-01-01\nexpires: null\n"
    for doc_id, body in DOCUMENTS.items():
        (directory / f"{doc_id}.md").write_text(f"---\nid: {doc_id}\n{head}{body}", encoding="utf-8")
    write_filler(
        directory,
        [
            ("garbage", "生活垃圾分类投放规定", "垃圾分类", "投放时间", "每天早上7:00—9:00投放。"),
            ("parking", "违法停车处理指南", "违章停车", "处罚标准", "禁停路段违法停车罚款150元。"),
            ("heating", "供暖期与室温标准", "供暖期", "报修电话", "供热服务热线0000-6143232。"),
            ("noise", "噪声扰民投诉指引", "装修噪声", "装修与广场舞", "双休日禁止电钻等高噪声作业。"),
        ],
    )
    return directory


@pytest.fixture
def scope_kb(scope_dir: Path, make_kb: MakeKb) -> KnowledgeBase:
    return make_kb(scope_dir)


@pytest.mark.parametrize("question", ["户口本丢了咋补办啊", "残疾证怎么办理"])
def test_a_thing_named_only_in_passing_is_not_what_the_document_answers(
    scope_kb: KnowledgeBase, question: str
) -> None:
    answer = scope_kb.answer(question, today=TODAY)

    assert answer.sources == []
    assert answer.evidence.get("side_object") == 1.0


@pytest.mark.parametrize(
    "question, doc_id",
    [
        ("补办身份证要带户口本吗", "idcard"),  # the ID card is the title's thing
        ("持残疾人证的护理补贴每月多少", "disability"),  # the subsidy is what is asked
        ("准迁证还要跑回老家开吗", "move-in"),  # the section that issues it answers the rest
    ],
)
def test_a_thing_in_the_title_or_with_the_rest_of_the_question_is_answered(
    scope_kb: KnowledgeBase, question: str, doc_id: str
) -> None:
    answer = scope_kb.answer(question, today=TODAY)

    assert answer.evidence.get("side_object") == 0.0
    assert answer.ranked[0] == doc_id


@pytest.mark.parametrize(
    "question",
    [
        "公积金账户怎么销户",
        "装修房子能提取公积金吗",
        "公积金贷款买房有没有购房补贴",
        "房子租出去了 收的租金要交税不",
        "房子装修的钱，可以用公积金付吗",  # the topic said first is what is asked
        "想跟对象去办结婚登记 要带啥",  # a 结婚证 among a document's materials is no answer
    ],
)
def test_a_procedure_or_concept_the_document_never_names_is_refused(
    scope_kb: KnowledgeBase, question: str
) -> None:
    answer = scope_kb.answer(question, today=TODAY)

    assert answer.sources == []
    assert answer.evidence.get("foreign_concept") == 1.0


def test_a_loan_is_a_thing_the_document_must_name(scope_kb: KnowledgeBase) -> None:
    answer = scope_kb.answer("商业贷款利率现在多少", today=TODAY)

    assert answer.sources == []
    assert answer.evidence.get("foreign_object") == 1.0


def test_a_completed_keyword_favours_no_one_document_of_its_topic(scope_kb: KnowledgeBase) -> None:
    # 公积金 -> 住房公积金, a keyword of the 租房提取 document only, and in both titles.
    features = scope_kb._features(scope_kb._snapshot, "用公积金首付最低几成")
    positions = {d.id: i for i, d in enumerate(scope_kb._snapshot.documents)}

    assert features.keyword[positions["fund-rent"]] == features.keyword[positions["fund-loan"]] == 1.0
    assert scope_kb.answer("用公积金首付最低几成", today=TODAY).sources[0]["id"] == "fund-loan"


@pytest.mark.parametrize(
    "question, asked",
    [
        ("家里有辆旧面包车 还能申请低保不", "还能申请低保不"),  # "…不" asks
        ("俺是外地来打工的，刚过来俩月，居住证多久能办下来", "居住证多久能办下来"),
        ("下礼拜要去银行办贷款 身份证丢了 补办要带啥", "身份证丢了 补办要带啥"),  # points back
        ("户口本弄丢了 咋补办", "户口簿弄丢了 咋补办"),  # normalised: 户口簿
        ("残疾证怎么办理", "残疾证怎么办理"),  # one clause: all of it
        # a question word in the story ("了几", "好几") does not ask
        ("俺在小学门口卖了几年煎饼 城管天天来撵 离学校多远才能摆", "离学校多远才能摆"),
        ("交了好几年社保了 失业金能领几个月", "失业金能领几个月"),
        ("居住证丢了 补一张要交钱不", "居住证丢了 补一张要交钱不"),  # 一张 names nothing: points back
        # a transfer (转到 -> 转移接续) names no thing: the thing transferred is before it
        ("之前在外地交的公积金 咋转到这边来", "之前在外地交的公积金 咋转到这边来"),
        # a verb (说理) names nothing: the clause before says what is asked about
        ("租约到期搬走了 房东扣着押金不退 找谁说理", "房东扣着押金不退 找谁说理"),
        # "换个" (换 + 个) is no noun either: the card whose renewal is asked comes before
        ("身份证快到期了 换个新的要多少钱", "身份证快到期了 换个新的要多少钱"),
        # a clause saying what the citizen wants is asked too, even before another that names
        ("想把老人送进公办养老院 咋排队 一个月多少钱", "想把老人送进公办养老院 咋排队 一个月多少钱"),
        # a thing said first, alone, is what the question asks about (a purpose: 装修, 个人账户)
        ("房子装修的钱，可以用公积金付吗", "房子装修的钱 可以用公积金付吗"),
        ("医保卡个人账户里的钱 能给俺媳妇看病刷不", "医保卡个人账户里的钱 能给俺媳妇看病刷不"),
        # but not a place, a time, a story ("有个…") or people
        ("在社区医院住院的 居民医保能报几成", "居民医保能报几成"),
        ("2025年办的公积金贷款 利率多少", "利率多少"),
        ("有个残疾人代步的小车 影响吃低保不", "影响吃低保不"),
        ("低保家庭里的残疾人 残疾证咋办", "残疾证咋办"),
        # a last clause naming only a vague noun (东西) leans on the one before
        ("小区垃圾分类攒了200积分，能换些什么东西", "小区垃圾分类攒了200积分 能换些什么东西"),
        # who said it is not what is asked, unless too little follows
        ("物业说废电池也只能在早晚规定的时间段扔，对吗", "废电池也只能在早晚规定的时间段扔 对吗"),
        ("物业费怎么说", "物业费怎么说"),
    ],
)
def test_the_clauses_that_ask(scope_kb: KnowledgeBase, question: str, asked: str) -> None:
    assert scope_kb._scope.asked(question) == asked


def test_circumstances_in_other_clauses_do_not_veto(scope_kb: KnowledgeBase) -> None:
    # 贷款 is what another document is about, but here it is only why the citizen is in a hurry.
    answer = scope_kb.answer("下礼拜要去银行办贷款，身份证丢了，补办要带什么材料", today=TODAY)

    assert answer.evidence.get("foreign_concept") == 0.0
    assert answer.ranked[0] == "idcard"


def test_a_clause_that_only_points_back_keeps_the_whole_question(scope_kb: KnowledgeBase) -> None:
    # "咋补办" names nothing of its own: 户口本 is still the thing asked about.
    answer = scope_kb.answer("户口本弄丢了 咋补办", today=TODAY)

    assert answer.sources == []
    assert answer.evidence.get("side_object") == 1.0


@pytest.mark.parametrize(
    "question, year",
    [
        ("去年两口子公积金最多能贷多少", 2025),
        ("去年年底忘了交医保 现在补交的话 交了马上就能用吗", None),  # asks about now
        ("我哥去年用公积金贷款买的房 当时利率是多少 我想跟现在对比一下", 2025),  # "then"
        ("2025年那会儿首付几成", 2025),
        ("2025年版那个公积金贷款标准现在还管用不", None),  # the version in force says
        # of two years, the later one: last year is only when the citizen missed the deadline
        ("俺去年没赶上集中交费 今年三月份才补交的居民医保 是交上就能报销不", 2026),
        # a story that goes on into this year, told in that order, asks about now too
        ("我今年二月才从外地回来，去年年底交医保时人不在，上个月补交了，住院还报不了，要等多久？", 2026),
    ],
)
def test_the_year_a_question_asks_about(scope_kb: KnowledgeBase, question: str, year: object) -> None:
    assert scope_kb._asked_year(question, TODAY) == year


def test_taking_money_out_is_a_procedure_the_loan_guide_never_names(scope_kb: KnowledgeBase) -> None:
    answer = scope_kb.answer("公积金能不能提出来还房贷", today=TODAY)

    assert answer.sources == []
    assert answer.evidence.get("foreign_concept") == 1.0


def test_a_candidate_a_rule_rules_out_gives_way_to_the_next(
    tmp_path: Path, make_kb: MakeKb, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = "department: CITY\ncategory: general\neffective: 2025-01-01\nexpires: null\n"
    documents = {
        "social": "title: 灵活就业人员社保缴费指南\nkeywords: [社保缴费, 灵活就业]\n---\n"
        "## 缴费标准\n社保按月缴纳，社保缴费基数每年调整，社保可在银行代扣。\n",
        "move-in": "title: 户口迁入办理指南\nkeywords: [户口迁入, 人才落户]\n---\n"
        "## 人才落户\n本科以上学历，在本市连续缴纳社保满6个月即可落户。\n",
    }
    for doc_id, body in documents.items():
        (tmp_path / f"{doc_id}.md").write_text(f"---\nid: {doc_id}\n{head}{body}", encoding="utf-8")
    kb = make_kb(tmp_path)
    question = "落户要先交够几年社保"
    social = next(i for i, d in enumerate(kb._snapshot.documents) if d.id == "social")

    def favour_social(features: object, mask: np.ndarray) -> np.ndarray:
        return np.where(np.arange(len(mask)) == social, 2.0, 1.0)  # as the words of a bigger corpus do

    monkeypatch.setattr(engine, "rank_scores", favour_social)
    answer = kb.answer(question, today=TODAY)

    assert answer.ranked[0] == "move-in"  # 社保缴费 never names 落户
    assert answer.evidence.get("foreign_concept") == 0.0


@pytest.mark.parametrize(
    "question",
    [
        "居住证积分怎么算",  # 积分: a concept no document names
        "在出租车上落了手机 咋找回来",  # 找回: lost property (失物招领)
        "公积金咋转到外地去",  # a transfer (转移) the 公积金 documents never name
    ],
)
def test_concepts_no_document_names_are_refused(scope_kb: KnowledgeBase, question: str) -> None:
    answer = scope_kb.answer(question, today=TODAY)

    assert answer.sources == []


@pytest.mark.parametrize(
    "question, concept",
    [
        ("出租车现在起步价多少钱", "起步价"),  # found however jieba segments it
        ("残疾人坐公交能免费不", "公交"),
        ("车牌掉了 补一个去哪补", "补一个"),  # a replacement (补领) the document never names
    ],
)
def test_concepts_are_found_however_they_are_written(
    scope_kb: KnowledgeBase, question: str, concept: str
) -> None:
    snapshot = scope_kb._snapshot
    parking = next(i for i, d in enumerate(snapshot.documents) if d.id == "parking")

    assert concept in scope_kb._scope.foreign_concepts(question, snapshot.index, parking)


def test_a_word_between_stem_and_suffix_still_names_the_thing(scope_kb: KnowledgeBase) -> None:
    objects = scope_kb._scope.objects

    assert objects.mentions("实体社保卡7个工作日内制卡", "实体卡", ())
    assert not objects.mentions("实体社保卡7个工作日内制卡", "结婚证", ())
    # a modifier before a two-character suffix: both parts named is enough
    assert objects.mentions("多子女家庭的缴存职工，贷款额度上浮", "家庭贷款", ())
    assert not objects.mentions("多子女家庭的缴存职工，贷款额度上浮", "商业贷款", ())


def test_a_fine_is_asked_of_a_document_that_states_one(scope_kb: KnowledgeBase) -> None:
    snapshot = scope_kb._snapshot
    positions = {d.id: i for i, d in enumerate(snapshot.documents)}
    question = "楼上装修周末打电钻 他们得罚多少钱"

    assert "罚" in scope_kb._scope.foreign_concepts(question, snapshot.index, positions["noise"])
    assert "罚" not in scope_kb._scope.foreign_concepts(question, snapshot.index, positions["parking"])


@pytest.mark.parametrize("question", ["公积金贷款额度现在的政策是多少", "按当时的规定首付最低几成"])
def test_words_for_a_kind_of_document_are_no_concept(scope_kb: KnowledgeBase, question: str) -> None:
    snapshot = scope_kb._snapshot
    loan = next(i for i, d in enumerate(snapshot.documents) if d.id == "fund-loan")

    assert scope_kb._scope.foreign_concepts(question, snapshot.index, loan) == []
