"""The knowledge-base engine on small documents: versions, refusals, follow-ups, reload."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Callable

import pytest

from desk.errors import NotFound
from desk.kb.documents import DocumentError
from desk.kb.engine import KnowledgeBase
from desk.kb.ranking import asked_year
from tests.kb.conftest import FILLER, document_text, write_filler

MakeKb = Callable[..., KnowledgeBase]
TODAY = dt.date(2026, 6, 1)


def test_kb_answer_quotes_the_section_with_title_and_id(kb_dir: Path, make_kb: MakeKb) -> None:
    answer = make_kb(kb_dir).answer("办居住证要带什么材料", today=TODAY)

    assert answer.sources == [{"id": "permit", "title": "示范市居住证办理指南"}]
    assert answer.answer.startswith("根据《示范市居住证办理指南》：\n")
    assert "本人居民身份证原件；已备案的房屋租赁合同。" in answer.answer
    assert 0.5 <= answer.confidence <= 1.0


def test_kb_version_in_force_wins(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)

    now = kb.answer("公积金贷款最多能贷多少", today=TODAY)
    last_year = kb.answer("公积金贷款最多能贷多少", today=dt.date(2025, 6, 1))

    assert now.sources[0]["id"] == "loan-2026" and "60万元" in now.answer
    assert last_year.sources[0]["id"] == "loan-2025" and "50万元" in last_year.answer


def test_kb_named_year_prefers_that_years_version(kb_dir: Path, make_kb: MakeKb) -> None:
    answer = make_kb(kb_dir).answer("2025年的公积金贷款额度是多少", today=TODAY)

    assert answer.sources[0]["id"] == "loan-2025"
    assert "50万元" in answer.answer
    assert "现已失效" in answer.answer


def test_kb_expired_and_future_documents_are_not_used(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)

    before_heating = kb.answer("暖气不热打什么电话", today=dt.date(2025, 9, 1))
    (kb_dir / "loan-2026.md").unlink()
    kb.refresh(force=True)
    only_expired = kb.answer("公积金贷款最多能贷多少", today=TODAY)

    assert not before_heating.sources
    assert not only_expired.sources


@pytest.mark.parametrize("question", ["明天会下雨吗", "推荐一只股票", "办护照要多久", ""])
def test_kb_refuses_what_the_documents_do_not_answer(kb_dir: Path, make_kb: MakeKb, question: str) -> None:
    answer = make_kb(kb_dir).answer(question, today=TODAY)

    assert answer.sources == []
    assert "转人工" in answer.answer and "工单" in answer.answer
    assert 0.0 <= answer.confidence < 0.5


def test_kb_follow_up_stays_on_the_context_document(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)

    alone = kb.answer("那要多久？", today=TODAY)
    followed = kb.answer("那要多久？", context="permit", today=TODAY)
    by_question = kb.answer("那要多久？", context="我想办居住证", today=TODAY)

    assert not alone.sources
    assert followed.sources[0]["id"] == "permit" and "15个工作日" in followed.answer
    assert by_question.sources[0]["id"] == "permit"


@pytest.mark.parametrize("question", ["那得多久", "他们办理的话要多久时间", "交了材料多久能拿到呢"])
def test_kb_follow_up_pointing_back_in_other_words(kb_dir: Path, make_kb: MakeKb, question: str) -> None:
    # "那得" segments as one word the documents never use; "他们" is the office asked about;
    # particles (交了) are no topic the documents lack.
    answer = make_kb(kb_dir).answer(question, context="permit", today=TODAY)

    assert answer.sources and answer.sources[0]["id"] == "permit"


@pytest.mark.parametrize(
    "question",
    [
        # whom the citizen asks for is no new topic
        "那我们这个员工办的时候要多久？我好跟我姐说一声",
        # a word cut across a date ("20日报": 日报)
        "那我5月20日报的名，几号之前能拿到？",
    ],
)
def test_kb_follow_up_naming_people_or_dates_stays(kb_dir: Path, make_kb: MakeKb, question: str) -> None:
    answer = make_kb(kb_dir).answer(question, context="permit", today=TODAY)

    assert answer.sources and answer.sources[0]["id"] == "permit"


def test_a_month_is_a_thing_only_alone(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)

    assert kb._things("那录取结果听说要到七月底才出来") == ["结果"]
    assert kb._things("那七月份呢") == ["七月份"]


def test_kb_a_longer_follow_up_unsure_on_its_own_stays_on_its_context(kb_dir: Path, make_kb: MakeKb) -> None:
    # Not short and not pointing back, but alone it finds the context's document first,
    # below the threshold: the conversation decides.
    kb = make_kb(kb_dir, threshold=0.9)
    question = "材料齐全的话要多少个工作日"

    alone = kb.answer(question, today=TODAY)
    followed = kb.answer(question, context="permit", today=TODAY)
    elsewhere = kb.answer(question, context="garbage", today=TODAY)

    assert not alone.sources and alone.ranked[0] == "permit"
    assert followed.sources[0]["id"] == "permit" and "15个工作日" in followed.answer
    assert not elsewhere.sources


def test_kb_follow_up_naming_a_year_switches_version(kb_dir: Path, make_kb: MakeKb) -> None:
    answer = make_kb(kb_dir).answer("那2025年呢？", context="loan-2026", today=TODAY)

    assert answer.sources[0]["id"] == "loan-2025"


def test_kb_picks_up_an_edited_file_within_the_interval(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir, refresh_interval_s=1.0)
    assert "15个工作日" in kb.answer("居住证办理时限多久", today=TODAY).answer

    edited = document_text("permit.md").replace("15个工作日", "7个工作日")
    (kb_dir / "permit.md").write_text(edited, encoding="utf-8")
    started = time.monotonic()
    while "7个工作日" not in kb.answer("居住证办理时限多久", today=TODAY).answer:
        assert time.monotonic() - started < 2.0, "edit not visible within 2 s"
        time.sleep(0.05)


def test_kb_skips_and_reports_a_broken_file(kb_dir: Path, make_kb: MakeKb) -> None:
    (kb_dir / "broken.md").write_text("---\nid: broken\n---\n正文", encoding="utf-8")
    (kb_dir / "twin.md").write_text(document_text("permit.md"), encoding="utf-8")
    (kb_dir / "binary.md").write_bytes(b"\xff\xfe\x00garbage")

    kb = make_kb(kb_dir)
    listing = kb.documents(today=TODAY)

    assert {"permit", "loan-2025", "loan-2026", "heating"} <= {d["id"] for d in listing["documents"]}
    assert len(listing["documents"]) == 4 + len(FILLER)
    errors = {e["file"]: e["reason"] for e in listing["errors"]}
    assert "title: field required" in errors["broken.md"]
    assert "duplicate id 'permit'" in errors["twin.md"]
    assert "UTF-8" in errors["binary.md"]
    assert kb.answer("居住证要什么材料", today=TODAY).sources[0]["id"] == "permit"


def test_kb_lists_validity(kb_dir: Path, make_kb: MakeKb) -> None:
    listing = make_kb(kb_dir).documents(today=TODAY)
    loans = {d["id"]: d for d in listing["documents"] if d["id"].startswith("loan")}

    assert loans["loan-2025"]["in_force"] is False and loans["loan-2025"]["expires"] == "2025-12-31"
    assert loans["loan-2026"]["in_force"] is True and loans["loan-2026"]["expires"] is None


def test_kb_add_validates_and_replaces_by_id(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)
    changed = document_text("heating.md").replace("11月15日", "11月1日")

    document, created = kb.add(changed)
    with pytest.raises(DocumentError, match="duplicate id 'heating'"):
        kb.add(changed, filename="other.md")
    with pytest.raises(DocumentError, match="expires must not be earlier"):
        kb.add(changed.replace("expires: null", "expires: 2020-01-01"))

    assert (document.filename, created) == ("heating.md", False)
    assert "11月1日" in kb.answer("供暖期是哪几个月", today=TODAY).answer
    assert not (kb_dir / "other.md").exists()


def test_kb_delete_removes_the_file(kb_dir: Path, make_kb: MakeKb) -> None:
    kb = make_kb(kb_dir)

    kb.delete("heating")

    assert not (kb_dir / "heating.md").exists()
    assert not kb.answer("暖气不热打什么电话", today=TODAY).sources
    with pytest.raises(NotFound):
        kb.delete("heating")


def test_kb_serves_an_empty_or_missing_directory(tmp_path: Path, make_kb: MakeKb) -> None:
    kb = make_kb(tmp_path / "absent")

    assert kb.answer("居住证要什么材料", today=TODAY).sources == []
    assert kb.documents(today=TODAY) == {"documents": [], "errors": []}


@pytest.mark.parametrize(
    "question, year",
    [
        ("2025年的公积金贷款额度", 2025),
        ("25年那会儿的利率", 2025),
        ("缴满20年的养老金", None),
        ("去年的医保", 2025),
        ("今年供暖", 2026),
        ("贷款额度", None),
    ],
)
def test_kb_reads_the_year_a_question_names(question: str, year: int) -> None:
    assert asked_year(question, TODAY) == year


def test_kb_today_defaults_to_the_city_clock(kb_dir: Path, make_kb: MakeKb) -> None:
    os.environ.setdefault("TZ", "UTC")
    assert abs((make_kb(kb_dir).today() - dt.date.today()).days) <= 1


def test_an_unrelated_short_question_does_not_stick_to_the_previous_document(tmp_path):
    from desk.kb.routes import build_knowledge_base
    from desk.settings import ROOT

    kb = build_knowledge_base(ROOT / "desk" / "city" / "shifan" / "kb", "none", tmp_path)
    assert kb.answer("那要带什么材料？", context="sf-001-juzhuzheng").sources[0]["id"] == "sf-001-juzhuzheng"
    assert kb.answer("明天股票会涨吗", context="sf-001-juzhuzheng").sources == []


@pytest.mark.parametrize(
    "question, context",
    [
        # Every character of these is in some document; the things they name are in none.
        ("手机内存咋清理", "sf-001-juzhuzheng"),
        ("你是机器人吗", "sf-034-wuyefei"),
        ("家里养的狗丢了咋找", "sf-034-wuyefei"),
    ],
)
def test_a_short_question_about_a_thing_no_document_names_is_no_follow_up(
    tmp_path: Path, question: str, context: str
) -> None:
    from desk.kb.routes import build_knowledge_base
    from desk.settings import ROOT

    kb = build_knowledge_base(ROOT / "desk" / "city" / "shifan" / "kb", "none", tmp_path)
    assert kb.answer(question, context=context).sources == []


def test_a_stop_phrase_names_no_concept(tmp_path: Path) -> None:
    # 关系 is a concept of the labour documents (劳动关系); "也没关系吧" says nothing of it.
    from desk.kb.routes import build_knowledge_base
    from desk.settings import ROOT

    kb = build_knowledge_base(ROOT / "desk" / "city" / "shifan" / "kb", "none", tmp_path)
    snapshot = kb._snapshot
    position = snapshot.position("sf-028-weitingchuli")
    assert position is not None
    assert "关系" in kb._scope.foreign_concepts("有没有关系", snapshot.index, position)
    assert kb._scope.foreign_concepts("罚款晚交几天也没关系吧", snapshot.index, position) == []


def test_kb_section_cues_prefer_the_longer_cue() -> None:
    from desk.kb.text import Analyzer

    analyzer = Analyzer()
    time_cues = analyzer.section_cues("多少天能办好")
    amount_cues = analyzer.section_cues("一年能取多少")

    assert any("时限" in group for group in time_cues)
    assert not any("额度" in group for group in time_cues)
    assert any("额度" in group for group in amount_cues)


@pytest.mark.parametrize(
    "question, named",
    [
        ("俺们外地来打工的 想让娃在这上小学 社保得交多久", "随迁子女"),  # a compound: all three parts
        ("硕士毕业想落户", "人才"),  # a degree is what 人才落户 asks for
        ("没扯证生的娃 上户口得准备啥", "非婚生育"),
        ("老爷子瘫床上了 不能自理 补贴一个月多少", "失能"),
        ("娃都生了四个多月了 才想起来办医保", "新生儿"),
        ("买的饼干早过期了 能让他赔多少", "食品安全"),
        ("培训班让一次交一整年的钱 合规不", "预收费"),
        ("想在小学门口摆个摊卖煎饼 让不让", "占道经营"),
    ],
)
def test_descriptions_are_expanded_to_the_documents_words(question: str, named: str) -> None:
    from desk.kb.text import Analyzer

    assert named in Analyzer().expand(question).split()


def test_what_information_to_give_asks_for_materials() -> None:
    from desk.kb.text import Analyzer

    analyzer = Analyzer()

    assert analyzer.is_cue("信息")  # asks how, not about a topic of its own
    assert any("需提供" in group for group in analyzer.section_cues("投诉出租车 得提供些啥信息"))


def test_a_compound_needs_every_part() -> None:
    from desk.kb.text import Analyzer

    assert "随迁子女" not in Analyzer().expand("俺们外地来打工的 社保得交多久")


def test_a_keyword_of_the_story_does_not_rank_its_document_first(tmp_path: Path, make_kb: MakeKb) -> None:
    # 夜市 is where the citizen bought it; the question asks about returning it.
    write_filler(
        tmp_path,
        [
            (
                "stalls",
                "夜市摊位管理",
                "夜市",
                "摊位费",
                "夜市摊位每月收取管理费，在夜市买卖的商品须明码标价，回来投诉可找市场监管。",
            ),
            (
                "returns",
                "购物退货",
                "无理由退货",
                "退货期限",
                "在商场、夜市等场所购买的商品，7天内可无理由退货。",
            ),
        ],
    )
    kb = make_kb(tmp_path)

    assert kb.answer("在夜市买了个手机壳 回来觉得不好看 能无理由退不", today=TODAY).ranked[0] == "returns"
    assert kb.answer("夜市摊位一个月交多少钱", today=TODAY).ranked[0] == "stalls"


def test_the_section_that_holds_what_is_asked_is_quoted(tmp_path: Path, make_kb: MakeKb) -> None:
    # "多少天之内" asks for a time: the deadline is under 办理流程, not under the 办理时限 heading.
    (tmp_path / "unemployment.md").write_text(
        "---\nid: unemployment\ntitle: 示范市失业保险金申领指南\ndepartment: HRSS\ncategory: labour\n"
        "effective: 2025-01-01\nexpires: null\nkeywords: [失业金]\n---\n"
        "## 申领条件\n非因本人意愿中断就业（如劳动合同到期单位不续签），已办理失业登记。\n\n"
        "## 办理流程\n离职之日起60日内，到街道社保服务站申请。\n\n"
        "## 办理时限\n受理后审核，次月发放。\n\n"
        "## 咨询电话\n0000-6331010\n",
        encoding="utf-8",
    )
    write_filler(tmp_path, [row for row in FILLER if row[0] != "jobless"])
    kb = make_kb(tmp_path)

    answer = kb.answer("合同到期公司不续了 离职以后多少天之内得去申请失业金", today=TODAY)

    assert answer.sources[0]["id"] == "unemployment" and "60日内" in answer.answer
    assert "0000-6331010" in kb.answer("失业金咨询打哪个电话", today=TODAY).answer


def test_a_keyword_naming_people_is_no_evidence(tmp_path: Path, make_kb: MakeKb) -> None:
    write_filler(
        tmp_path,
        [
            ("elderly", "高龄津贴发放办法", "老年人", "发放标准", "80周岁以上每月100元。"),
            ("benefit", "高龄津贴申领", "高龄津贴", "申领材料", "身份证和户口簿。"),
        ],
    )
    kb = make_kb(tmp_path)
    snapshot = kb._snapshot

    # 我妈 is expanded to 老年人, which names whom the document serves, not what it answers.
    assert not kb._features(snapshot, "帮我妈写几句生日祝福").keyword.any()
    hits = kb._features(snapshot, "高龄津贴要带什么").keyword
    assert hits[snapshot.position("benefit")] == 1.0
