"""ValidateComplaintForm: asks only for what is missing, reads corrections, confirms."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.desk_client import DeskClient, DeskUnavailable, place_of
from actions.dialogue import (
    ANONYMOUS,
    Correction,
    declines_phone,
    find_correction,
    find_time,
    has_substance,
    is_affirmation,
    is_denial,
)
from actions.policy import answer_policy
from desk.contact import find_phone, normalize_phone

# Intents that interrupt the form: their own rules answer, then the form resumes.
INTERRUPTIONS = frozenset(
    {
        "ask_identity",
        "check_ticket",
        "ask_policy",
        "request_human",
        "leave_callback",
        "cancel",
        "greet",
        "thank",
        "goodbye",
    }
)
MAX_DETAIL = 500
SHARED_LOCATION = "我的位置："  # how bot/channels/wechat.py passes a WeChat location message
SHARED_PICTURE = "[图片]"  # ... and a picture ("[图片] <url>")
QUESTION_CONFIDENCE = 0.75


def _is_a_question(classification: Dict[str, Any]) -> bool:
    return (
        bool(classification)
        and classification.get("category") is None
        and classification.get("type") == "consult"
        and classification.get("confidence", 0) >= QUESTION_CONFIDENCE
    )


def checked_phone(value: Any, dispatcher: CollectingDispatcher) -> Optional[str]:
    """The phone slot's value: a normalised number, ANONYMOUS, or None (and why it is wrong)."""
    if not value or value == ANONYMOUS:
        return value or None
    phone, reason = normalize_phone(value)
    if phone is None:
        dispatcher.utter_message(text=f"这个号码好像不对：{reason}。")
    return phone


class ValidateComplaintForm(FormValidationAction):
    def __init__(self) -> None:
        self.desk = DeskClient()

    def name(self) -> Text:
        return "validate_complaint_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """As rasa-sdk's ValidationAction.run, except that an extraction may end the form."""
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        if any(event.get("name") == "requested_slot" and event.get("value") is None for event in extraction):
            return extraction
        tracker.add_slots(extraction)
        return await self._extract_validation_events(dispatcher, tracker, domain)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Reads the latest message once and turns it into slot updates."""
        updates = await self._interpret(tracker, dispatcher)
        return [SlotSet(slot, value) for slot, value in updates.items()]

    async def _interpret(self, tracker: Tracker, dispatcher: CollectingDispatcher) -> Dict[str, Any]:
        message = tracker.latest_message or {}
        text = (message.get("text") or "").strip()
        intent = (message.get("intent") or {}).get("name")
        requested = tracker.get_slot("requested_slot")
        # A picture or a shared location is never an interruption, whatever NLU called it.
        if text.startswith(SHARED_PICTURE) and requested is not None:  # joins the description
            description = tracker.get_slot("description")
            return {"description": f"{description}\n{text}" if description else text}
        if text.startswith(SHARED_LOCATION) and requested is not None:  # fills the place
            label = text[len(SHARED_LOCATION) :].split("（")[0].strip()
            return {"location": label or text, "confirmed": None}
        if intent in INTERRUPTIONS:
            return {}
        if requested is None:  # the form is being activated by a new complaint
            return await self._from_complaint(text, dispatcher, tracker)
        correction = find_correction(text)
        if correction and correction.field and correction.field != requested:
            return {correction.field: correction.value or None, "confirmed": None}
        if requested == "confirmed":
            return await self._confirmation(text, intent, correction)
        value = correction.value if correction and correction.value else text
        if requested == "phone" and (intent == "anonymous" or declines_phone(text)):
            value = ANONYMOUS
        elif requested == "phone":  # "我电话是139…": the number, not the sentence around it
            value = find_phone(value) or value
        return {requested: value}

    async def _from_complaint(
        self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        try:
            found = await self.desk.classify(text)
        except DeskUnavailable:
            found = {}
        if _is_a_question(found):
            # The dispatcher is sure this is a question, not a problem to hand to a department:
            # answer it instead of collecting a complaint.
            doc_id = await answer_policy(self.desk, dispatcher, text, None)
            return {"requested_slot": None, "kb_doc": doc_id}
        if found.get("urgent") and found.get("advice"):
            # Safety first: what to do right now, before any question.
            dispatcher.utter_message(text=f"【紧急】{found['advice']}我们会按紧急工单优先处理。")
        handoff_state = await self._escalate_urgent(found, text, dispatcher, tracker)
        return {
            "handoff_state": handoff_state,
            "description": text,
            "location": place_of(found).location,
            "occurred_at": find_time(text) or ("刚刚（紧急）" if found.get("urgent") else None),
            "phone": find_phone(text),
            "confirmed": None,
        }

    async def _escalate_urgent(
        self, found: Dict[str, Any], text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Optional[str]:
        """An urgent case also goes to the front of the operators' queue."""
        if not found.get("urgent"):
            return tracker.get_slot("handoff_state")
        channel = tracker.get_latest_input_channel() or "rest"
        try:
            await self.desk.escalate(tracker.sender_id, channel, "urgent", {"description": text})
        except DeskUnavailable:
            return None
        dispatcher.utter_message(
            text="已同时为您优先转接人工客服。接通之前，请先回答我几个问题，方便尽快处置。"
        )
        return "queued"

    async def _confirmation(
        self, text: str, intent: Optional[str], correction: Optional[Correction]
    ) -> Dict[str, Any]:
        if intent == "affirm" or is_affirmation(text):
            return {"confirmed": True}
        if intent == "deny" or is_denial(text) or (correction and not correction.value):
            return {"confirmed": False}
        detail = correction.value if correction else text
        phone = find_phone(detail)
        if phone:
            return {"phone": phone, "confirmed": None}
        place = await self.desk.locate(detail)
        if place.district or place.street:
            return {"location": detail, "confirmed": None}
        return {"confirmed": False}

    # -- validation of each slot ---------------------------------------------------

    async def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not value or not has_substance(value):
            return {"description": None}
        return {"description": value}

    async def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        cleared = {"location": None, "district": None, "street": None}
        if not value:
            return cleared
        value = value.strip()[:MAX_DETAIL]
        if len(value) < 2:
            dispatcher.utter_message(text="地址太简略了，请说明区、街道和小区或路名门牌。")
            return cleared
        place = await self.desk.locate(value)
        return {
            "location": place.location or value,
            "district": place.district,
            "street": place.street,
        }

    async def validate_occurred_at(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"occurred_at": value.strip()[:MAX_DETAIL] if value else None}

    async def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"phone": checked_phone(value, dispatcher)}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is False:
            dispatcher.utter_message(
                text="好的，请直接告诉我需要修改的内容，例如“地址说错了，是……”或“电话改成……”。"
            )
            return {"confirmed": None}
        return {"confirmed": value}
