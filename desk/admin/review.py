"""The review queue: citizen messages the bot understood poorly, with the conversation around them.

Messages arrive from Rasa's event broker (``desk.events``): a user message below the
confidence threshold or classified ``nlu_fallback``, and the last citizen message before an
operator took the conversation over (a ``pause`` event). Dispatchers' reassignments
(``dispatch_corrections``) join the queue too. Phones and ID numbers are masked before
anything is stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict, deque
from datetime import datetime, timezone
from typing import Any, Deque, Dict, List, Optional

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from desk.contact import _IN_TEXT, mask_phone, normalize_phone  # the same phone pattern as tickets
from desk.db import dispatch_corrections, review_items
from desk.errors import Conflict, NotFound
from desk.events import ConversationEvent

log = logging.getLogger(__name__)
FALLBACK_INTENT = "nlu_fallback"
REASONS = ("low_confidence", "fallback", "takeover", "reassignment")
CONTEXT_EVENTS = 6  # conversation turns kept around a message
MAX_SENDERS = 2000  # conversations followed in memory at once
_ID_NUMBER = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9])")


def mask_personal_data(text: str) -> str:
    """Masks phone numbers (139****5678) and ID card numbers (110101********123X) in free text."""

    def phone(match: re.Match) -> str:
        digits, _ = normalize_phone(match.group(1))
        return (mask_phone(digits) or match.group(0)) if digits else match.group(0)

    masked = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text or "")
    return _IN_TEXT.sub(phone, masked)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.replace(tzinfo=timezone.utc).isoformat() if value else None


class ReviewRepository:
    """Stores review items (blocking; call through ``asyncio.to_thread``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(
        self,
        source_ref: str,
        reason: str,
        text: str,
        sender_id: Optional[str] = None,
        intent: Optional[str] = None,
        confidence: Optional[float] = None,
        context: Optional[List[Dict[str, Any]]] = None,
    ) -> Optional[int]:
        """Adds an item unless one with the same origin exists; returns its id or None."""
        values = dict(
            source_ref=source_ref[:200],
            reason=reason,
            sender_id=sender_id,
            text=mask_personal_data(text),
            intent=intent,
            confidence=confidence,
            context=json.dumps(context or [], ensure_ascii=False),
            status="open",
            created_at=_utcnow(),
        )
        try:
            with self._engine.begin() as conn:
                result = conn.execute(review_items.insert().values(**values))
                return int(result.inserted_primary_key[0])
        except IntegrityError:
            return None

    def append_context(self, item_id: int, turn: Dict[str, Any]) -> None:
        """Adds a turn that came after the message (the bot's answer to it)."""
        with self._engine.begin() as conn:
            current = conn.execute(
                select(review_items.c.context).where(review_items.c.id == item_id)
            ).scalar()
            context = json.loads(current) if current else []
            context.append(turn)
            conn.execute(
                review_items.update()
                .where(review_items.c.id == item_id)
                .values(context=json.dumps(context, ensure_ascii=False))
            )

    def import_reassignments(self) -> int:
        """Queues dispatchers' reassignments not queued yet; returns how many were added."""
        with self._engine.connect() as conn:
            known = {
                ref
                for (ref,) in conn.execute(
                    select(review_items.c.source_ref).where(review_items.c.reason == "reassignment")
                )
            }
            rows = conn.execute(select(dispatch_corrections).order_by(dispatch_corrections.c.id)).mappings()
            fresh = [row for row in rows if f"correction:{row['id']}" not in known]
        added = 0
        for row in fresh:
            context = [{"kind": "dispatch", "text": f"工单 {row['ticket_id']} 改派为 {row['label']}"}]
            if self.add(
                f"correction:{row['id']}", "reassignment", row["text"], intent=row["label"], context=context
            ):
                added += 1
        return added

    def list(self, status: Optional[str] = "open", limit: int = 100) -> List[Dict[str, Any]]:
        query = select(review_items).order_by(review_items.c.id.desc()).limit(limit)
        if status:
            query = query.where(review_items.c.status == status)
        with self._engine.connect() as conn:
            return [self._as_dict(row) for row in conn.execute(query).mappings()]

    def counts(self) -> Dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(review_items.c.status, func.count()).group_by(review_items.c.status)
            ).all()
        return {status: int(count) for status, count in rows}

    def get(self, item_id: int) -> Dict[str, Any]:
        with self._engine.connect() as conn:
            row = conn.execute(select(review_items).where(review_items.c.id == item_id)).mappings().first()
        if row is None:
            raise NotFound(f"审核条目 {item_id} 不存在", {"id": item_id})
        return self._as_dict(row)

    def resolve(self, item_id: int, status: str, resolution: Dict[str, Any], actor: str) -> Dict[str, Any]:
        """Closes an open item; a second decision on the same item is a conflict."""
        with self._engine.begin() as conn:
            result = conn.execute(
                review_items.update()
                .where(and_(review_items.c.id == item_id, review_items.c.status == "open"))
                .values(
                    status=status,
                    resolution=json.dumps(resolution, ensure_ascii=False),
                    resolved_at=_utcnow(),
                    resolved_by=actor,
                )
            )
        if result.rowcount == 0:
            current = self.get(item_id)  # NotFound when missing
            raise Conflict("该条目已处理过", {"id": item_id, "status": current["status"]})
        return self.get(item_id)

    @staticmethod
    def _as_dict(row: Any) -> Dict[str, Any]:
        return {
            "id": row["id"],
            "reason": row["reason"],
            "sender_id": row["sender_id"],
            "text": row["text"],
            "intent": row["intent"],
            "confidence": row["confidence"],
            "context": json.loads(row["context"]) if row["context"] else [],
            "status": row["status"],
            "resolution": json.loads(row["resolution"]) if row["resolution"] else None,
            "created_at": _iso(row["created_at"]),
            "resolved_at": _iso(row["resolved_at"]),
            "resolved_by": row["resolved_by"],
        }


class ReviewCollector:
    """Subscribes to conversation events and queues what the bot understood poorly."""

    def __init__(self, repository: ReviewRepository, threshold: float) -> None:
        self._repository = repository
        self._threshold = threshold
        self._recent: "OrderedDict[str, Deque[ConversationEvent]]" = OrderedDict()
        self._answering: Dict[str, int] = {}  # sender -> queued item waiting for the bot's answer

    async def __call__(self, events: List[ConversationEvent]) -> None:
        for event in events:
            await self._follow_up(event)
            item = self._item_for(event)
            self._remember(event)
            if item is not None:
                item_id = await asyncio.to_thread(self._repository.add, **item)
                if item_id is not None:
                    log.info("admin.review.queued id=%s reason=%s", item_id, item["reason"])
                    if item["reason"] != "takeover":
                        self._answering[event.sender_id] = item_id

    async def _follow_up(self, event: ConversationEvent) -> None:
        """The bot's answer to a queued message joins its context (what the citizen was told)."""
        item_id = self._answering.get(event.sender_id)
        if item_id is None:
            return
        if event.kind == "bot" and event.text:
            turn = {"kind": "bot", "text": mask_personal_data(event.text), "intent": None, "after": True}
            await asyncio.to_thread(self._repository.append_context, item_id, turn)
        if event.kind != "bot" or len(self._answering) > MAX_SENDERS:
            self._answering.pop(event.sender_id, None)

    def _item_for(self, event: ConversationEvent) -> Optional[Dict[str, Any]]:
        history = list(self._recent.get(event.sender_id, ()))
        if event.kind == "user" and event.text and not event.text.startswith("/"):
            if event.intent == FALLBACK_INTENT:
                reason = "fallback"
            elif event.confidence is not None and event.confidence < self._threshold:
                reason = "low_confidence"
            else:
                return None
            return self._item(event, reason, history)
        if event.kind == "pause":
            last_user = next((e for e in reversed(history) if e.kind == "user" and e.text), None)
            if last_user is not None:
                before = history[: history.index(last_user)]
                return self._item(last_user, "takeover", before, ref_suffix="takeover")
        return None

    @staticmethod
    def _item(
        event: ConversationEvent, reason: str, history: List[ConversationEvent], ref_suffix: str = ""
    ) -> Dict[str, Any]:
        context = [
            {"kind": e.kind, "text": mask_personal_data(e.text or ""), "intent": e.intent}
            for e in history
            if e.kind in ("user", "bot") and e.text
        ]
        return {
            "source_ref": f"event:{event.sender_id}:{event.timestamp:.6f}{ref_suffix}",
            "reason": reason,
            "text": event.text or "",
            "sender_id": event.sender_id,
            "intent": event.intent,
            "confidence": event.confidence,
            "context": context[-CONTEXT_EVENTS:],
        }

    def _remember(self, event: ConversationEvent) -> None:
        if event.kind in ("restart", "session_started"):
            self._recent.pop(event.sender_id, None)
            return
        if event.kind not in ("user", "bot"):
            return
        recent = self._recent.pop(event.sender_id, None) or deque(maxlen=CONTEXT_EVENTS)
        recent.append(event)
        self._recent[event.sender_id] = recent
        while len(self._recent) > MAX_SENDERS:
            self._recent.popitem(last=False)
