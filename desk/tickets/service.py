"""TicketService: classification, routing, SLA deadlines and idempotent creation."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from desk.city.profile import CityProfile
from desk.contact import mask_phone
from desk.dispatch.classifier import Dispatcher
from desk.dispatch.dataset import Example
from desk.errors import Conflict, InvalidInput, NotFound
from desk.tickets.repository import Row, TicketRepository, utcnow
from desk.tickets.schema import TicketIn, TicketUpdate

log = logging.getLogger(__name__)

STATUS_NAMES = {
    "created": "已受理",
    "dispatched": "已派单",
    "pending_dispatch": "待人工派单",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已关闭",
}


def hashed(value: str) -> str:
    """A short stable hash for logs: never log a citizen's identifiers in clear."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


class TicketService:
    def __init__(
        self,
        repository: TicketRepository,
        profile: CityProfile,
        classifier: Dispatcher,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._repo = repository
        self._profile = profile
        self._classifier = classifier
        self._clock = clock
        self._tz = ZoneInfo(profile.city.timezone)

    async def create(
        self, ticket: TicketIn, idempotency_key: Optional[str] = None
    ) -> Tuple[Dict[str, Any], bool]:
        """Creates a ticket; returns (ticket, created). A replayed key returns the first."""
        request_hash = hashlib.sha256(
            json.dumps(ticket.dict(), sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        if idempotency_key:
            existing = await asyncio.to_thread(self._repo.find_by_idempotency_key, idempotency_key)
            if existing:
                return self._replayed(existing, request_hash), False
        row, history = self._build(ticket, idempotency_key, request_hash)
        day = self._local(row["created_at"]).strftime("%Y%m%d")
        try:
            ticket_id = await asyncio.to_thread(
                self._repo.insert, self._profile.city.prefix, day, row, history
            )
        except IntegrityError:
            if not idempotency_key:
                raise
            existing = await asyncio.to_thread(self._repo.find_by_idempotency_key, idempotency_key)
            if existing is None:
                raise
            return self._replayed(existing, request_hash), False
        log.info(
            "desk.ticket.created id=%s owner=%s status=%s sender=%s",
            ticket_id,
            row["owner"],
            row["status"],
            hashed(ticket.sender_id),
        )
        return await self.get(ticket_id), True

    def _replayed(self, existing: Row, request_hash: str) -> Dict[str, Any]:
        if existing["request_hash"] != request_hash:
            raise Conflict(
                "该 Idempotency-Key 已用于另一份不同的工单请求",
                {"ticket_id": existing["id"]},
            )
        return self.to_json(existing)

    def _build(
        self, ticket: TicketIn, idempotency_key: Optional[str], request_hash: str
    ) -> Tuple[Row, List[Row]]:
        found = self._classifier.classify(ticket.description, ticket.location)
        category, scenario, owner = found.category, found.scenario, found.owner
        confidence = found.confidence
        if ticket.category or ticket.scenario:
            chosen = self._profile.scenario(ticket.category or "", ticket.scenario or "")
            if chosen is None:
                raise InvalidInput(
                    f"城市配置中没有场景 {ticket.category}.{ticket.scenario}",
                    {"field": "scenario"},
                )
            category, scenario, owner, confidence = (
                ticket.category,
                ticket.scenario,
                chosen.owner,
                1.0,
            )
        rtype = ticket.type or found.type
        if rtype not in self._profile.request_types:
            raise InvalidInput(
                f"未知的诉求类型 {rtype}，可选：{', '.join(self._profile.request_types)}",
                {"field": "type"},
            )
        dispatched = owner is not None and confidence >= self._profile.dispatch_threshold
        now = self._clock()
        sla = self._profile.request_types[rtype]
        row: Row = {
            "sender_id": ticket.sender_id,
            "channel": ticket.channel,
            "type": rtype,
            "category": category,
            "scenario": scenario,
            "owner": owner if dispatched else None,
            "district": found.district,
            "street": found.street,
            "location": ticket.location or found.location,
            "occurred_at": ticket.occurred_at,
            "description": ticket.description,
            "phone": None if ticket.contact_anonymous else ticket.phone,
            "contact_anonymous": ticket.contact_anonymous or not ticket.phone,
            "urgent": found.urgent,
            "confidence": confidence,
            "status": "dispatched" if dispatched else "pending_dispatch",
            "created_at": now,
            "respond_by": now + timedelta(hours=sla.respond_h),
            "resolve_by": now + timedelta(hours=sla.resolve_h),
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
        }
        history = [
            {"at": now, "status": "created", "actor": ticket.channel, "note": None},
            {
                "at": now,
                "status": row["status"],
                "actor": "dispatcher",
                "note": (
                    f"派至{self._profile.department_name(row['owner'])}"
                    if dispatched
                    else "无法确定承办单位，转人工派单"
                ),
            },
        ]
        return row, history

    async def get(self, ticket_id: str, reveal_phone: bool = False) -> Dict[str, Any]:
        row = await asyncio.to_thread(self._repo.get, ticket_id)
        if row is None:
            raise NotFound(f"未找到工单 {ticket_id}", {"ticket_id": ticket_id})
        return self.to_json(row, reveal_phone)

    async def corrections(self) -> List[Example]:
        """Every dispatcher's reassignment so far: training data for the next model."""
        return await asyncio.to_thread(self._repo.corrections)

    async def update(self, ticket_id: str, change: TicketUpdate, actor: str) -> Dict[str, Any]:
        """Applies an operator's change; a reassignment is kept as training data."""
        row = await asyncio.to_thread(self._repo.get, ticket_id)
        if row is None:
            raise NotFound(f"未找到工单 {ticket_id}", {"ticket_id": ticket_id})
        values, notes = self._changes(row, change)
        if not values:
            raise InvalidInput("没有要修改的内容", {"fields": ["scenario", "owner", "type", "status"]})
        now = self._clock()
        correction = None
        if "scenario" in values:
            label = f"{values['category']}.{values['scenario']}"
            correction = {
                "text": row["description"],
                "label": label,
                "type": values.get("type", row["type"]),
                "actor": actor,
                "at": now,
            }
        status = values.get("status", row["status"])
        history = {
            "at": now,
            "status": status,
            "actor": actor,
            "note": "；".join(filter(None, [*notes, change.note])),
        }
        await asyncio.to_thread(self._repo.update, ticket_id, values, history, correction)
        log.info("desk.ticket.updated id=%s fields=%s", ticket_id, ",".join(sorted(values)))
        return await self.get(ticket_id, reveal_phone=True)

    def _changes(self, row: Row, change: TicketUpdate) -> Tuple[Row, List[str]]:
        profile = self._profile
        values: Row = {}
        notes: List[str] = []
        if change.scenario:
            category, scenario_code = change.scenario.split(".", 1)
            scenario = profile.scenario(category, scenario_code)
            if scenario is None:
                raise InvalidInput(f"城市配置中没有场景 {change.scenario}", {"field": "scenario"})
            values.update(category=category, scenario=scenario_code, owner=scenario.owner)
        if change.owner:
            if change.owner not in profile.departments:
                raise InvalidInput(f"未知的部门代码 {change.owner}", {"field": "owner"})
            values["owner"] = change.owner
        if "owner" in values and values["owner"] != row["owner"]:
            old = profile.department_name(row["owner"]) or "待人工派单"
            notes.append(f"改派至{profile.department_name(values['owner'])}（原：{old}）")
            if row["status"] == "pending_dispatch":
                values["status"] = "dispatched"
        if change.type and change.type != row["type"]:
            if change.type not in profile.request_types:
                raise InvalidInput(f"未知的诉求类型 {change.type}", {"field": "type"})
            sla = profile.request_types[change.type]
            values.update(
                type=change.type,
                urgent=change.type == "urgent",
                respond_by=row["created_at"] + timedelta(hours=sla.respond_h),
                resolve_by=row["created_at"] + timedelta(hours=sla.resolve_h),
            )
            notes.append(f"诉求类型改为{sla.name}")
        if change.status:
            if change.status not in STATUS_NAMES:
                raise InvalidInput(f"未知的状态 {change.status}", {"field": "status"})
            values["status"] = change.status
        return values, notes

    async def list_by_sender(self, sender_id: str, limit: int = 50) -> List[Dict[str, Any]]:
        rows = await asyncio.to_thread(self._repo.list_by_sender, sender_id, limit)
        return [self.to_json(r) for r in rows]

    def _local(self, moment: datetime) -> datetime:
        return moment.replace(tzinfo=timezone.utc).astimezone(self._tz)

    def to_json(self, row: Row, reveal_phone: bool = False) -> Dict[str, Any]:
        """The public shape of a ticket: masked phone, local ISO times, Chinese names."""
        profile = self._profile
        category = profile.categories.get(row["category"] or "")
        scenario = profile.scenario(row["category"] or "", row["scenario"] or "")
        return {
            "id": row["id"],
            "sender_id": row["sender_id"],
            "channel": row["channel"],
            "type": row["type"],
            "type_name": profile.request_types[row["type"]].name
            if row["type"] in profile.request_types
            else row["type"],
            "category": row["category"],
            "category_name": category.name if category else None,
            "scenario": row["scenario"],
            "scenario_name": scenario.name if scenario else None,
            "owner": row["owner"],
            "owner_name": profile.department_name(row["owner"]),
            "district": row["district"],
            "street": row["street"],
            "location": row["location"],
            "occurred_at": row["occurred_at"],
            "description": row["description"],
            "phone": row["phone"] if reveal_phone else mask_phone(row["phone"]),
            "contact_anonymous": bool(row["contact_anonymous"]),
            "urgent": bool(row["urgent"]),
            "confidence": row["confidence"],
            "status": row["status"],
            "status_name": STATUS_NAMES.get(row["status"], row["status"]),
            "created_at": self._local(row["created_at"]).isoformat(),
            "respond_by": self._local(row["respond_by"]).isoformat(),
            "resolve_by": self._local(row["resolve_by"]).isoformat(),
            "history": [
                {
                    "status": h["status"],
                    "status_name": STATUS_NAMES.get(h["status"], h["status"]),
                    "at": self._local(h["at"]).isoformat(),
                    "actor": h["actor"],
                    "note": h["note"],
                }
                for h in row.get("history", [])
            ],
        }
