"""Escalation actions against a real desk: queueing, misunderstandings, callback, insisting."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerPolicy
from actions.forms import ValidateComplaintForm
from actions.handoff import (
    ActionHandleFallback,
    ActionHandoffCheck,
    ActionLeaveCallback,
    ActionRequestHuman,
    ValidateCallbackForm,
)
from tests.actions.conftest import make_tracker, slot_events


def _user(text: str, intent: str, at: float) -> dict:
    return {"event": "user", "text": text, "timestamp": at, "parse_data": {"intent": {"name": intent}}}


def _with(action, desk):
    action.desk = desk
    return action


async def test_asking_for_a_human_queues_the_conversation_and_says_where(desk, domain) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("转人工", "request_human", description="楼下烧烤油烟大", phone="13912345678")
    events = await _with(ActionRequestHuman(), desk).run(dispatcher, tracker, domain)
    assert (
        "正在为您转接人工客服" in dispatcher.messages[0]["text"]
        and "您是下一位" in dispatcher.messages[0]["text"]
    )
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "留言"
    assert slot_events(events) == {"handoff_state": "queued"}
    assert any(e.get("event") == "reminder" for e in events)
    status = await desk.handoff_status("citizen-1")
    assert status["state"] == "waiting" and status["position"] == 1
    second = CollectingDispatcher()
    other = make_tracker("你们这是什么破服务", "express_anger", sender_id="citizen-2")
    await _with(ActionRequestHuman(), desk).run(second, other, domain)
    assert "前面还有 1 位" in second.messages[0]["text"] and "非常抱歉" in second.messages[0]["text"]


async def test_the_second_misunderstanding_in_a_row_goes_to_a_human(desk, domain) -> None:
    first = CollectingDispatcher()
    once = make_tracker("呃呃", "nlu_fallback", events=[_user("呃呃", "nlu_fallback", 1.0)])
    assert await _with(ActionHandleFallback(), desk).run(first, once, domain) == []
    assert first.messages[0]["response"] == "utter_default"
    second = CollectingDispatcher()
    twice = make_tracker(
        "啊啊",
        "nlu_fallback",
        events=[_user("呃呃", "nlu_fallback", 1.0), _user("啊啊", "nlu_fallback", 2.0)],
    )
    await _with(ActionHandleFallback(), desk).run(second, twice, domain)
    assert "没能理解" in second.messages[0]["text"]
    assert (await desk.handoff_status("citizen-1"))["state"] == "waiting"


async def test_waiting_too_long_offers_the_callback_again(desk, domain) -> None:
    tracker = make_tracker("", "EXTERNAL_handoff_timeout")
    nothing = CollectingDispatcher()
    assert slot_events(await _with(ActionHandoffCheck(), desk).run(nothing, tracker, domain)) == {
        "handoff_state": None
    }
    assert nothing.messages == []
    await _with(ActionRequestHuman(), desk).run(
        CollectingDispatcher(), make_tracker("转人工", "request_human"), domain
    )
    dispatcher = CollectingDispatcher()
    events = await _with(ActionHandoffCheck(), desk).run(dispatcher, tracker, domain)
    assert "留言" in dispatcher.messages[0]["text"] and any(e.get("event") == "reminder" for e in events)


async def test_a_callback_ticket_takes_the_citizen_out_of_the_queue(desk, domain) -> None:
    await _with(ActionRequestHuman(), desk).run(
        CollectingDispatcher(), make_tracker("转人工", "request_human"), domain
    )
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "留言",
        "leave_callback",
        phone="13912345678",
        events=[
            _user("小区停水三天了", "complain", 1.0),
            _user("留言", "leave_callback", 2.0),
            _user("13912345678", "inform", 3.0),
        ],
    )
    events = await _with(ActionLeaveCallback(), desk).run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert "工单编号 SF" in text and "139****5678" in text
    ticket = await desk.get_ticket(slot_events(events)["ticket_id"])
    assert ticket["description"] == "【留言待回电】小区停水三天了"
    assert (await desk.handoff_status("citizen-1"))["state"] == "none"


async def test_the_callback_form_asks_for_a_valid_phone(domain) -> None:
    form = ValidateCallbackForm()
    tracker = make_tracker("我的电话是139 1234 5678", "inform", requested_slot="phone")
    extracted = await form.extract_phone(CollectingDispatcher(), tracker, domain)
    assert (await form.validate_phone(extracted["phone"], CollectingDispatcher(), tracker, domain)) == {
        "phone": "13912345678"
    }
    dispatcher = CollectingDispatcher()
    assert (await form.validate_phone("12345", dispatcher, tracker, domain)) == {"phone": None}
    assert "号码好像不对" in dispatcher.messages[0]["text"]


async def test_asking_again_after_not_found_goes_to_a_human(desk, domain) -> None:
    first = CollectingDispatcher()
    events = await _with(ActionAnswerPolicy(), desk).run(
        first, make_tracker("火星移民政策", "ask_policy"), domain
    )
    assert slot_events(events) == {"kb_unanswered": True}
    again = CollectingDispatcher()
    tracker = make_tracker("我就想知道火星移民政策", "ask_policy", kb_unanswered=True)
    events = await _with(ActionAnswerPolicy(), desk).run(again, tracker, domain)
    assert slot_events(events)["handoff_state"] == "queued"
    assert "需要工作人员解答" in again.messages[-1]["text"]


async def test_a_callback_during_the_complaint_form_is_the_forms_own_ticket(desk, domain) -> None:
    await _with(ActionRequestHuman(), desk).run(
        CollectingDispatcher(), make_tracker("转人工", "request_human"), domain
    )
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("留言", "leave_callback", requested_slot="location", description="楼上装修太吵")

    events = await _with(ActionLeaveCallback(), desk).run(dispatcher, tracker, domain)

    assert slot_events(events) == {"handoff_state": None}  # no second ticket, no ticket_id yet
    assert "登记成工单" in dispatcher.messages[0]["text"]
    assert (await desk.handoff_status("citizen-1"))["state"] == "none"


async def test_the_form_does_not_take_liuyan_as_an_answer(domain) -> None:
    tracker = make_tracker("留言", "leave_callback", requested_slot="location", description="楼上装修太吵")

    events = await ValidateComplaintForm().get_extraction_events(CollectingDispatcher(), tracker, domain)

    assert events == []
