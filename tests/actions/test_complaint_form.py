"""ValidateComplaintForm: only missing details are asked, corrections touch one detail."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateComplaintForm
from tests.actions.conftest import make_tracker, slot_events


@pytest.fixture
def form(desk) -> ValidateComplaintForm:
    form = ValidateComplaintForm()
    form.desk = desk
    return form


async def run(form, tracker, domain):
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker, domain)
    return slot_events(events), [m.get("text") for m in dispatcher.messages]


async def test_complaint_without_place_keeps_text_and_time_and_asks_for_the_rest(form, domain):
    text = "小区门口的烧烤摊天天占道经营，晚上烟熏火燎"
    slots, _ = await run(form, make_tracker(text, "complain"), domain)
    assert slots["description"] == text
    assert slots["location"] is None
    assert slots["occurred_at"] == "天天、晚上"
    assert slots["phone"] is None


async def test_complaint_with_place_and_phone_fills_them(form, domain):
    text = "城东区东湖街道幸福小区门口烧烤摊占道经营，我电话139 1234 5678"
    slots, _ = await run(form, make_tracker(text, "complain"), domain)
    assert slots["location"].startswith("城东区东湖街道幸福小区")
    assert (slots["district"], slots["street"]) == ("城东区", "东湖街道")
    assert slots["phone"] == "13912345678"


async def test_bare_request_asks_what_the_problem_is(form, domain):
    slots, _ = await run(form, make_tracker("我要投诉", "complain"), domain)
    assert slots["description"] is None


async def test_street_is_normalised_to_its_district(form, domain):
    tracker = make_tracker("就在望江街道江景花园门口", "inform", requested_slot="location", description="x")
    slots, _ = await run(form, tracker, domain)
    assert slots["district"] == "城东区"
    assert slots["street"] == "望江街道"
    assert slots["location"] == "望江街道江景花园门口"


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("139 1234 5678", "13912345678"),
        ("139-1234-5678", "13912345678"),
        ("0571-88886666", "057188886666"),
        ("我电话是13912345678", "13912345678"),
        ("打这个号 139 1234 5678 就行", "13912345678"),
    ],
)
async def test_phone_formats_are_accepted(form, domain, typed, stored):
    tracker = make_tracker(typed, "inform", requested_slot="phone", description="x", location="y")
    slots, messages = await run(form, tracker, domain)
    assert slots["phone"] == stored
    assert messages == []


async def test_invalid_phone_is_asked_again_with_the_reason(form, domain):
    tracker = make_tracker("1391234", "inform", requested_slot="phone", description="x", location="y")
    slots, messages = await run(form, tracker, domain)
    assert slots["phone"] is None
    assert "11位" in messages[0] and "7位" in messages[0]


async def test_declining_to_leave_a_phone_is_anonymous(form, domain):
    tracker = make_tracker("不方便留电话", "anonymous", requested_slot="phone", description="x", location="y")
    slots, _ = await run(form, tracker, domain)
    assert slots["phone"] == "匿名"


async def test_correction_at_confirmation_changes_only_that_detail(form, domain):
    tracker = make_tracker(
        "地址说错了，是城西区白塔街道锦绣路12号",
        "correct",
        requested_slot="confirmed",
        description="烧烤摊占道经营",
        location="城东区东湖街道幸福小区",
        district="城东区",
        street="东湖街道",
        occurred_at="晚上",
        phone="13912345678",
    )
    slots, _ = await run(form, tracker, domain)
    assert slots["location"] == "城西区白塔街道锦绣路12号"
    assert (slots["district"], slots["street"]) == ("城西区", "白塔街道")
    assert slots["confirmed"] is None
    assert not {"description", "occurred_at", "phone"} & set(slots)


async def test_correction_while_another_detail_is_asked(form, domain):
    tracker = make_tracker(
        "电话改成13800001111", "correct", requested_slot="occurred_at", description="x", location="y"
    )
    slots, _ = await run(form, tracker, domain)
    assert slots["phone"] == "13800001111"
    assert "occurred_at" not in slots


async def test_affirmation_confirms(form, domain):
    tracker = make_tracker("确认", "affirm", requested_slot="confirmed", description="x", location="y")
    slots, _ = await run(form, tracker, domain)
    assert slots["confirmed"] is True


async def test_denial_asks_what_to_change(form, domain):
    tracker = make_tracker("不对", "deny", requested_slot="confirmed", description="x", location="y")
    slots, messages = await run(form, tracker, domain)
    assert slots["confirmed"] is None
    assert "修改" in messages[0]


async def test_question_in_the_middle_sets_nothing_so_the_form_yields(form, domain):
    tracker = make_tracker("你们是哪个部门？", "ask_identity", requested_slot="location", description="x")
    slots, _ = await run(form, tracker, domain)
    assert slots == {}


async def test_emergency_gets_the_safety_step_before_any_question(form, domain):
    slots, messages = await run(
        form, make_tracker("我家厨房煤气味特别重，是不是燃气泄漏了", "complain"), domain
    )
    assert messages and "关闭燃气总阀" in messages[0] and "119" in messages[0]
    assert slots["occurred_at"]  # an emergency is now: the bot does not ask when


async def test_a_question_mistaken_for_a_complaint_ends_the_form(form, domain):
    slots, messages = await run(form, make_tracker("请问灵活就业人员的社保怎么交", "complain"), domain)
    assert slots.get("requested_slot", "unset") is None  # the form stops: no ticket
    assert "来源：《示范市灵活就业人员参加社会保险" in messages[0]  # answered from the KB instead
    assert slots["kb_doc"] == "sf-010-linghuojiuyeshebao"


async def test_a_location_shared_in_wechat_fills_the_place(form, domain):
    text = "我的位置：示范市城西区白塔街道锦绣路12号（纬度30.1，经度120.2）"
    tracker = make_tracker(text, "inform", requested_slot="occurred_at", description="x", location="y")
    slots, _ = await run(form, tracker, domain)
    assert slots["location"] == "城西区白塔街道锦绣路12号" and slots["district"] == "城西区"
    assert "occurred_at" not in slots


@pytest.mark.parametrize("intent", ["inform", "ask_policy", "greet"])  # whatever NLU called it
async def test_a_picture_sent_during_the_form_is_kept_with_the_description(form, domain, intent):
    text = "[图片] http://mmbiz.example/pic.jpg"
    tracker = make_tracker(text, intent, requested_slot="phone", description="烧烤摊占道", location="y")
    slots, _ = await run(form, tracker, domain)
    assert slots["description"] == "烧烤摊占道\n[图片] http://mmbiz.example/pic.jpg"
    assert "phone" not in slots
