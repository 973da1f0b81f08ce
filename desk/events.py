"""Conversation events from Rasa, fanned out inside desk.

Rasa's event broker (``bot.broker.DeskEventBroker`` in endpoints.yml) posts each
conversation's events to ``POST /api/rasa/events``; the handoff desk (live operator
consoles) and the review queue subscribe to them here. Only Rasa may post: with
``DESK_EVENTS_TOKEN`` set the call needs it as a bearer token, without it only loopback
callers are accepted.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web

from desk.errors import BadRequest, Forbidden, Unauthorized

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
# user_live: a channel's copy of a citizen message, sent before NLU (bot/channels/live_copy.py);
# the same message follows as "user" once Rasa has logged it.
KINDS = frozenset({"user", "user_live", "bot", "pause", "resume", "restart", "session_started"})
MAX_EVENTS_PER_CALL = 500
LOOPBACK = frozenset({"127.0.0.1", "::1"})


@dataclass(frozen=True)
class ConversationEvent:
    """One event of a conversation as desk uses it (a subset of Rasa's event JSON)."""

    sender_id: str
    kind: str
    timestamp: float
    text: Optional[str] = None
    intent: Optional[str] = None
    confidence: Optional[float] = None
    channel: Optional[str] = None
    custom: Dict[str, Any] = field(default_factory=dict)
    metadata: Dict[str, Any] = field(default_factory=dict)
    message_id: Optional[str] = None

    @classmethod
    def from_rasa(cls, raw: Any) -> Optional["ConversationEvent"]:
        """The event, or None for kinds desk does not follow or malformed entries."""
        if (
            not isinstance(raw, dict)
            or raw.get("event") not in KINDS
            or not isinstance(raw.get("sender_id"), str)
        ):
            return None
        parse = _mapping(raw.get("parse_data"))
        intent = _mapping(parse.get("intent"))
        custom = _mapping(_mapping(raw.get("data")).get("custom"))
        confidence = intent.get("confidence")
        return cls(
            sender_id=raw["sender_id"],
            kind=raw["event"],
            timestamp=float(raw.get("timestamp") or 0.0),
            text=raw.get("text") if isinstance(raw.get("text"), str) else None,
            intent=intent.get("name") if isinstance(intent.get("name"), str) else None,
            confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
            channel=raw.get("input_channel") if isinstance(raw.get("input_channel"), str) else None,
            custom=custom,
            metadata=_mapping(raw.get("metadata")),
            message_id=str(raw["message_id"]) if raw.get("message_id") else None,
        )

    def as_dict(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"sender_id": self.sender_id, "kind": self.kind, "timestamp": self.timestamp}
        for name in ("text", "intent", "confidence", "channel"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.custom.get("operator"):
            body["operator"] = self.custom["operator"]
        return body


def _mapping(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


EventHandler = Callable[[List[ConversationEvent]], Awaitable[None]]


class EventBus:
    """Hands each batch of events to every subscriber; one failing subscriber spoils nothing."""

    def __init__(self) -> None:
        self._handlers: List[EventHandler] = []

    def subscribe(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def publish(self, events: List[ConversationEvent]) -> None:
        for handler in self._handlers:
            try:
                await handler(events)
            except Exception:
                log.exception(
                    "desk.events.handler_failed handler=%s", getattr(handler, "__qualname__", handler)
                )


EVENT_BUS = web.AppKey("event_bus", EventBus)
EVENTS_TOKEN = web.AppKey("events_token", str)


@routes.post("/api/rasa/events")
async def receive_events(request: web.Request) -> web.Response:
    _authorise(request)
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("请求体不是有效的 JSON") from None
    raw_events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(raw_events, list) or len(raw_events) > MAX_EVENTS_PER_CALL:
        raise BadRequest(f"events 必须是不超过 {MAX_EVENTS_PER_CALL} 条的列表")
    events = [e for e in (ConversationEvent.from_rasa(raw) for raw in raw_events) if e is not None]
    if events:
        await request.app[EVENT_BUS].publish(events)
    return web.json_response({"accepted": len(events)}, status=202)


def _authorise(request: web.Request) -> None:
    token = request.app.get(EVENTS_TOKEN, "")
    if token:
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthorized("事件推送令牌无效")
        return
    if request.remote not in LOOPBACK:
        raise Forbidden("未配置 DESK_EVENTS_TOKEN 时只接受本机推送")
