"""Escalation to a human operator: queueing, waiting, a callback instead, misunderstandings.

The queue itself lives in desk (``/api/handoffs``). While the citizen waits the bot keeps
talking (they may add details or choose a callback ticket); once an operator claims the
conversation desk pauses it in Rasa and the bot goes silent until it is handed back.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, ReminderScheduled, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.desk_client import DeskClient, DeskUnavailable, TicketNotFound
from actions.dialogue import ANONYMOUS, declines_phone
from actions.forms import checked_phone
from desk.contact import find_phone, mask_phone

log = logging.getLogger(__name__)
DRAFT_SLOTS = ("description", "location", "occurred_at", "phone")
CHECK_INTENT = "EXTERNAL_handoff_timeout"
QUEUED = "queued"

QUEUED_TEXT = (
    "正在为您转接人工客服（{why}），{place}。等待期间您可以继续补充情况；"
    "如果不想等，回复“留言”，我们会登记工单并安排工作人员回电。"
)
STILL_WAITING = (
    "人工客服暂时都在忙，您前面还有 {ahead} 位。您可以继续等待，或回复“留言”登记工单、等工作人员回电。"
)
HANDOFF_DOWN = (
    "抱歉，人工转接暂时不可用。您可以拨打12345热线由人工服务，或回复“留言”登记工单。您说过的内容都已保存。"
)
WHY = {
    "explicit": "按您的要求",
    "anger": "给您带来不便，非常抱歉",
    "misunderstood": "我没能理解您的意思",
    "urgent": "紧急情况优先",
    "kb_unanswered": "这个问题需要工作人员解答",
}


def offer_after_s() -> float:
    """How long a citizen waits before the bot offers the callback again (HANDOFF_OFFER_AFTER_S)."""
    try:
        return max(5.0, float(os.environ.get("HANDOFF_OFFER_AFTER_S", "120")))
    except ValueError:
        return 120.0


def _reminder() -> ReminderScheduled:
    when = datetime.now(timezone.utc) + timedelta(seconds=offer_after_s())
    return ReminderScheduled(CHECK_INTENT, when, name="handoff_check", kill_on_user_message=False)


async def escalate(
    desk: DeskClient, dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> List[EventType]:
    """Queues the conversation for an operator and tells the citizen where they stand."""
    draft = {slot: tracker.get_slot(slot) for slot in DRAFT_SLOTS}
    if draft.get("phone") == ANONYMOUS:
        draft["phone"] = None
    try:
        status = await desk.escalate(
            tracker.sender_id, tracker.get_latest_input_channel() or "rest", reason, draft
        )
    except (DeskUnavailable, TicketNotFound):
        dispatcher.utter_message(text=HANDOFF_DOWN)
        return []
    if status.get("state") == "held":
        return []  # an operator already has the conversation
    ahead = max(0, int(status.get("position") or 1) - 1)
    place = f"您前面还有 {ahead} 位" if ahead else "您是下一位"
    dispatcher.utter_message(
        text=QUEUED_TEXT.format(why=WHY.get(reason, "按您的要求"), place=place),
        buttons=[{"title": "留言等回电", "payload": "留言"}],
    )
    return [SlotSet("handoff_state", QUEUED), _reminder()]


class ActionRequestHuman(Action):
    """转人工 (or anger): queue for an operator."""

    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        return await escalate(
            self.desk, dispatcher, tracker, "anger" if intent == "express_anger" else "explicit"
        )


class ActionHandoffCheck(Action):
    """The reminder set at queueing: still waiting? Offer the callback again."""

    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "action_handoff_check"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        try:
            status = await self.desk.handoff_status(tracker.sender_id)
        except (DeskUnavailable, TicketNotFound):
            return [_reminder()]
        if status.get("state") != "waiting":
            return [SlotSet("handoff_state", None)] if status.get("state") == "none" else []
        ahead = max(0, int(status.get("position") or 1) - 1)
        dispatcher.utter_message(
            text=STILL_WAITING.format(ahead=ahead), buttons=[{"title": "留言等回电", "payload": "留言"}]
        )
        return [_reminder()]


class ActionLeaveCallback(Action):
    """The citizen would rather not wait: a ticket asking for a call back, and out of the queue."""

    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "action_leave_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.active_loop_name == "complaint_form":
            return await self._during_complaint(dispatcher, tracker)
        phone = tracker.get_slot("phone")
        said = _citizen_words(tracker)  # what the citizen asked or reported, not "留言" or the phone
        description = tracker.get_slot("description") or "；".join(said[-3:]) or "市民请求人工回电"
        payload: Dict[str, Any] = {
            "sender_id": tracker.sender_id,
            "channel": tracker.get_latest_input_channel() or "rest",
            "description": f"【留言待回电】{description}",
            "location": tracker.get_slot("location"),
            "occurred_at": tracker.get_slot("occurred_at"),
            "phone": None if phone in (None, ANONYMOUS) else phone,
            "contact_anonymous": phone in (None, ANONYMOUS),
        }
        key = f"callback:{tracker.sender_id}:{_last_user_timestamp(tracker)}"
        try:
            ticket = await self.desk.create_ticket(payload, key)
        except (DeskUnavailable, TicketNotFound):
            dispatcher.utter_message(
                text="抱歉，系统暂时无法登记留言，请稍后回复“留言”再试，或拨打12345热线。"
            )
            return []
        await self._stop_waiting(tracker.sender_id)
        callback = (
            f"工作人员会回电 {mask_phone(payload['phone'])}" if payload["phone"] else "您未留电话，将不回电"
        )
        dispatcher.utter_message(
            text=f"已为您登记留言，工单编号 {ticket['id']}，{callback}。您说过的内容都已保存。"
        )
        return [SlotSet("handoff_state", None), SlotSet("ticket_id", ticket["id"])]

    async def _during_complaint(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """ "留言" in the middle of a complaint: the complaint's own ticket is the message, so
        the citizen stops waiting for an operator and the form goes on (it asks for a phone)."""
        await self._stop_waiting(tracker.sender_id)
        dispatcher.utter_message(
            text="好的，不用等人工了。我们把您反映的问题登记成工单，提交后承办部门会联系您。"
        )
        return [SlotSet("handoff_state", None)]

    async def _stop_waiting(self, sender_id: str) -> None:
        """Takes the citizen out of the operator queue; not queued, or desk down: the ticket
        (this one, or the complaint's) is what matters."""
        try:
            await self.desk.withdraw_handoff(sender_id)
        except (DeskUnavailable, TicketNotFound):
            pass


class ActionHandleFallback(Action):
    """A message the bot did not understand; the second in a row goes to a human."""

    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if _previous_user_intent(tracker) == "nlu_fallback" and tracker.get_slot("handoff_state") != QUEUED:
            return await escalate(self.desk, dispatcher, tracker, "misunderstood")
        dispatcher.utter_message(response="utter_default")
        return []


NOT_CONTENT = frozenset({"leave_callback", "request_human", "affirm", "deny", "anonymous", "greet", "thank"})


def _citizen_words(tracker: Tracker) -> List[str]:
    """The citizen's messages that say what they need (no commands, answers or phone numbers)."""
    words = []
    for event in tracker.events:
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if text and not text.startswith("/") and intent not in NOT_CONTENT and not find_phone(text):
            words.append(text)
    return words


def _previous_user_intent(tracker: Tracker) -> Optional[str]:
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return None
    return ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name")


def _last_user_timestamp(tracker: Tracker) -> str:
    users = [e for e in tracker.events if e.get("event") == "user"]
    return str(users[-1].get("timestamp")) if users else "0"


class ValidateCallbackForm(FormValidationAction):
    """Asks for the phone a callback needs (unless the complaint already gave one)."""

    def name(self) -> Text:
        return "validate_callback_form"

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "phone":
            return {}
        message = tracker.latest_message or {}
        text = (message.get("text") or "").strip()
        if (message.get("intent") or {}).get("name") == "anonymous" or declines_phone(text):
            return {"phone": ANONYMOUS}
        return {"phone": find_phone(text) or text}

    async def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"phone": checked_phone(value, dispatcher)}
