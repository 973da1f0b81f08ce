"""Ticket actions against a real desk: create, idempotent retry, status lookup."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerPolicy, ActionAskConfirmed, ActionCheckTicket, ActionCreateTicket
from actions.desk_client import DeskClient
from tests.actions.conftest import make_tracker, slot_events

CONFIRMED = dict(
    description="小区门口的烧烤摊天天占道经营，晚上烟熏火燎",
    location="城东区东湖街道幸福小区门口",
    district="城东区",
    street="东湖街道",
    occurred_at="天天、晚上",
    phone="13912345678",
    confirmed=True,
)
CONFIRM_EVENT = [{"event": "slot", "name": "confirmed", "value": True, "timestamp": 1764300000.5}]


def confirmed(**overrides):
    return make_tracker("确认", "affirm", events=CONFIRM_EVENT, **dict(CONFIRMED, **overrides))


def creator(desk: DeskClient) -> ActionCreateTicket:
    action = ActionCreateTicket()
    action.desk = desk
    return action


async def test_confirmed_complaint_becomes_a_routed_ticket(desk, domain):
    dispatcher = CollectingDispatcher()
    tracker = confirmed()
    events = await creator(desk).run(dispatcher, tracker, domain)
    slots = slot_events(events)
    ticket_id = slots["ticket_id"]
    assert "工单编号 " + ticket_id in dispatcher.messages[0]["text"]
    assert slots["description"] is None and slots["confirmed"] is None
    ticket = await desk.get_ticket(ticket_id)
    assert ticket["owner"] == "URBAN"
    assert ticket["sender_id"] == "citizen-1"
    assert ticket["phone"] == "139****5678"
    assert ticket["description"] == CONFIRMED["description"]


async def test_retried_submission_returns_the_same_ticket(desk, domain):
    first = slot_events(await creator(desk).run(CollectingDispatcher(), confirmed(), domain))
    second = slot_events(await creator(desk).run(CollectingDispatcher(), confirmed(), domain))
    assert first["ticket_id"] == second["ticket_id"]
    assert len(await desk.list_tickets("citizen-1", limit=10)) == 1


async def test_anonymous_complaint_has_no_phone(desk, domain):
    events = await creator(desk).run(CollectingDispatcher(), confirmed(phone="匿名"), domain)
    ticket = await desk.get_ticket(slot_events(events)["ticket_id"])
    assert ticket["phone"] is None and ticket["contact_anonymous"] is True


async def test_desk_down_keeps_everything_and_says_so(domain):
    dispatcher = CollectingDispatcher()
    unreachable = DeskClient("http://127.0.0.1:9", attempts=1)
    events = await creator(unreachable).run(dispatcher, confirmed(), domain)
    assert events == []  # nothing is cleared: the citizen can retry with 确认
    assert "已完整保存" in dispatcher.messages[0]["text"]


async def test_affirm_without_a_pending_complaint_does_not_create(desk, domain):
    dispatcher = CollectingDispatcher()
    events = await creator(desk).run(dispatcher, make_tracker("好的", "affirm"), domain)
    assert events == []
    assert dispatcher.messages[0]["response"] == "utter_how_can_help"
    assert await desk.list_tickets("citizen-1") == []


async def check(desk, domain, text, sender_id="citizen-1"):
    action = ActionCheckTicket()
    action.desk = desk
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker(text, "check_ticket", sender_id=sender_id), domain)
    return dispatcher.messages[0]["text"]


async def test_ticket_status_by_id_and_by_conversation(desk, domain):
    events = await creator(desk).run(CollectingDispatcher(), confirmed(), domain)
    ticket_id = slot_events(events)["ticket_id"]
    by_id = await check(desk, domain, f"帮我查一下工单 {ticket_id.lower()}")
    assert ticket_id in by_id and "市城市管理综合行政执法局" in by_id and "已派单" in by_id
    assert ticket_id in await check(desk, domain, "我反映的问题处理得怎么样了")


async def test_unknown_ticket_id_is_reported(desk, domain):
    assert "没有找到编号为 SF209901010001" in await check(desk, domain, "查工单 SF209901010001")


async def test_read_back_has_every_detail_and_a_masked_phone(domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("", "inform", requested_slot="confirmed", **CONFIRMED)
    await ActionAskConfirmed().run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    for part in ("烧烤摊", "城东区东湖街道幸福小区门口", "天天、晚上", "139****5678", "确认"):
        assert part in text
    assert "13912345678" not in text
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles == ["确认提交", "取消"]


async def test_read_back_marks_a_shared_picture_without_its_long_link(domain):
    dispatcher = CollectingDispatcher()
    details = dict(CONFIRMED, description="烧烤摊占道经营\n[图片] http://desk.example/uploads/a1b2c3.png")
    tracker = make_tracker("", "inform", requested_slot="confirmed", **details)
    await ActionAskConfirmed().run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert "烧烤摊占道经营" in text and "[已附图片]" in text and "uploads" not in text


async def test_someone_elses_ticket_shows_status_but_not_what_was_reported(desk, domain):
    events = await creator(desk).run(CollectingDispatcher(), confirmed(), domain)
    ticket_id = slot_events(events)["ticket_id"]
    own = await check(desk, domain, f"查工单 {ticket_id}")
    other = await check(desk, domain, f"查工单 {ticket_id}", sender_id="someone-else")
    assert "烧烤摊" in own
    assert ticket_id in other and "已派单" in other and "烧烤摊" not in other


async def answer(desk, domain, text, kb_doc=None):
    action = ActionAnswerPolicy()
    action.desk = desk
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(text, "ask_policy", kb_doc=kb_doc), domain)
    return slot_events(events), dispatcher.messages[0]


async def test_policy_answer_cites_its_source_and_keeps_the_topic(desk, domain):
    slots, message = await answer(desk, domain, "居住证怎么办理")
    assert slots["kb_doc"] == "sf-001-juzhuzheng"
    assert "来源：《示范市居住证申领、签注与补领办事指南》" in message["text"]
    slots, message = await answer(desk, domain, "那要带什么材料？", kb_doc=slots["kb_doc"])
    assert slots["kb_doc"] == "sf-001-juzhuzheng" and "居住证" in message["text"]


async def test_unknown_policy_is_refused_honestly(desk, domain):
    slots, message = await answer(desk, domain, "明天股票会涨吗")
    assert slots == {"kb_unanswered": True} and message["response"] == "utter_policy_not_found"
