"""Actions that talk to desk: read back, create and look up tickets."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.desk_client import DeskClient, DeskUnavailable, TicketNotFound
from actions.dialogue import ANONYMOUS, find_ticket_id
from actions.handoff import escalate
from actions.policy import answer_policy
from desk.contact import mask_phone

log = logging.getLogger(__name__)
PICTURE_LINK = re.compile(r"\[图片\]\s*\S+")
COMPLAINT_SLOTS = ("description", "location", "district", "street", "occurred_at", "phone", "confirmed")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def _when(iso: Optional[str]) -> str:
    if not iso:
        return "—"
    moment = datetime.fromisoformat(iso)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def _place(tracker: Tracker) -> str:
    location = tracker.get_slot("location") or "未提供"
    area = "".join(
        part
        for part in (tracker.get_slot("district"), tracker.get_slot("street"))
        if part and part not in location
    )
    return f"{location}（{area}）" if area else location


def _contact(phone: Optional[str]) -> str:
    return "匿名（不留电话）" if not phone or phone == ANONYMOUS else mask_phone(phone) or phone


class ActionAskConfirmed(Action):
    """Reads every detail back in one message before anything is submitted."""

    def name(self) -> Text:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(
            text=(
                "请核对您要反映的内容：\n"
                f"· 事项：{_without_links(tracker.get_slot('description'))}\n"
                f"· 地点：{_place(tracker)}\n"
                f"· 时间：{tracker.get_slot('occurred_at') or '未提供'}\n"
                f"· 联系电话：{_contact(tracker.get_slot('phone'))}\n"
                "信息无误请回复“确认”；需要修改请直接告诉我，例如“地址说错了，是……”。"
            ),
            buttons=[
                {"title": "确认提交", "payload": "确认提交"},
                {"title": "取消", "payload": "取消"},
            ],
        )
        return []


def _without_links(description: Optional[str]) -> str:
    """The description as read back: a shared picture shows as a mark, not as its long URL."""
    return PICTURE_LINK.sub("[已附图片]", description or "")


class ActionCreateTicket(Action):
    """Submits the confirmed complaint to desk and answers with the ticket number."""

    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if not (tracker.get_slot("confirmed") and tracker.get_slot("description")):
            dispatcher.utter_message(response="utter_how_can_help")
            return []
        payload = self._payload(tracker)
        try:
            ticket = await self.desk.create_ticket(payload, self._idempotency_key(tracker))
        except (DeskUnavailable, TicketNotFound):
            log.warning("actions.ticket.create_failed sender=%s", _hash(tracker.sender_id))
            dispatcher.utter_message(
                text="抱歉，工单系统暂时繁忙，您反映的内容已完整保存。"
                "请稍后回复“确认”重新提交，或拨打12345由人工为您登记。"
            )
            return []
        log.info("actions.ticket.created id=%s sender=%s", ticket["id"], _hash(tracker.sender_id))
        dispatcher.utter_message(text=self._receipt(ticket))
        return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS] + [SlotSet("ticket_id", ticket["id"])]

    @staticmethod
    def _payload(tracker: Tracker) -> Dict[str, Any]:
        phone = tracker.get_slot("phone")
        anonymous = not phone or phone == ANONYMOUS
        return {
            "sender_id": tracker.sender_id,
            "channel": tracker.get_latest_input_channel() or "rest",
            "description": tracker.get_slot("description"),
            "location": tracker.get_slot("location"),
            "occurred_at": tracker.get_slot("occurred_at"),
            "phone": None if anonymous else phone,
            "contact_anonymous": anonymous,
        }

    @staticmethod
    def _idempotency_key(tracker: Tracker) -> str:
        """Stable for one confirmation: a retry of the same submission reuses it."""
        confirmed_at = next(
            (
                str(event.get("timestamp"))
                for event in reversed(tracker.events)
                if event.get("event") == "slot"
                and event.get("name") == "confirmed"
                and event.get("value") is True
            ),
            "",
        )
        return "rasa-" + hashlib.sha256(f"{tracker.sender_id}|{confirmed_at}".encode()).hexdigest()[:40]

    @staticmethod
    def _receipt(ticket: Dict[str, Any]) -> str:
        urgent = "（紧急）" if ticket.get("urgent") and ticket.get("type") != "urgent" else ""
        owner = ticket.get("owner_name") or ticket.get("owner")
        routed = f"已派至{owner}办理" if owner else "工作人员将尽快为您核定承办单位"
        return (
            f"已为您登记{ticket.get('type_name', '')}工单{urgent}，工单编号 {ticket['id']}。\n"
            f"{routed}，{_when(ticket.get('respond_by'))}前响应，"
            f"{_when(ticket.get('resolve_by'))}前办结。\n"
            f"您可以随时发送“查工单 {ticket['id']}”查看进度。"
        )


class ActionCheckTicket(Action):
    """Reports a ticket's status and owner: by the id in the message, else the latest."""

    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "action_check_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        ticket_id = find_ticket_id((tracker.latest_message or {}).get("text", ""))
        try:
            if ticket_id:
                tickets = [await self.desk.get_ticket(ticket_id)]
            else:
                tickets = await self.desk.list_tickets(tracker.sender_id, limit=3)
        except TicketNotFound:
            dispatcher.utter_message(text=f"没有找到编号为 {ticket_id} 的工单，请核对编号后再试。")
            return []
        except DeskUnavailable:
            dispatcher.utter_message(text="抱歉，工单系统暂时繁忙，请稍后再查，或拨打12345人工查询。")
            return []
        if not tickets:
            dispatcher.utter_message(
                text="没有查到您在这里登记的工单。请发送工单编号查询，例如“查工单 SF202611280001”。"
            )
            return []
        own = tracker.sender_id
        dispatcher.utter_message(
            text="\n\n".join(self._status(t, t.get("sender_id") == own) for t in tickets)
        )
        return []

    @staticmethod
    def _status(ticket: Dict[str, Any], own: bool) -> str:
        """Status and owner for any id; what was reported only to the citizen who reported it."""
        lines = [
            f"工单 {ticket['id']}：{ticket.get('status_name') or ticket.get('status')}",
            f"承办单位：{ticket.get('owner_name') or ticket.get('owner') or '待人工派单'}",
        ]
        if own:
            summary = ticket.get("description") or ""
            lines.append(f"事项：{summary[:30] + '…' if len(summary) > 30 else summary}")
        lines.append(
            f"受理时间：{_when(ticket.get('created_at'))}，办结时限：{_when(ticket.get('resolve_by'))}"
        )
        return "\n".join(lines)


class ActionAnswerPolicy(Action):
    """Answers a policy question from the knowledge base, citing the document."""

    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        question = (tracker.latest_message or {}).get("text", "")
        doc_id = await answer_policy(self.desk, dispatcher, question, tracker.get_slot("kb_doc"))
        if doc_id:
            return [SlotSet("kb_doc", doc_id), SlotSet("kb_unanswered", None)]
        if tracker.get_slot("kb_unanswered") and tracker.get_slot("handoff_state") is None:
            # Asked again after "not found": the citizen insists, so a human answers.
            queued = await escalate(self.desk, dispatcher, tracker, "kb_unanswered")
            return [SlotSet("kb_unanswered", None), *queued]
        return [SlotSet("kb_unanswered", True)]


class ActionCancelComplaint(Action):
    """Drops the complaint being collected (it stays in the conversation history)."""

    def name(self) -> Text:
        return "action_cancel_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_cancelled")
        return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS]
