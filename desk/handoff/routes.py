"""HTTP API and live feed of the hand-off desk, and the operator console page.

Action server (the citizen's side):
  POST   /api/handoffs                       {"sender_id", "channel", "reason", "draft"} -> status
  GET    /api/handoffs/{sender_id}/status    -> {"state", "position", "waiting", ...}
  DELETE /api/handoffs/{sender_id}           the citizen stopped waiting (callback ticket)
Operators (bearer token from /api/auth/login):
  GET    /api/handoffs                       the queue, urgent first, with waiting times and reasons
  GET    /api/handoffs/{sender_id}           one conversation: transcript, draft, dispatch suggestion
  POST   /api/handoffs/{sender_id}/claim     take it (409 if another operator holds it)
  POST   /api/handoffs/{sender_id}/messages  {"text"}: say something to the citizen
  PUT    /api/handoffs/{sender_id}/draft     edit the ticket draft
  POST   /api/handoffs/{sender_id}/ticket    submit the draft as a ticket
  POST   /api/handoffs/{sender_id}/release   {"close"?: bool, "note"?}: hand back to the bot (or close)
  GET    /api/handoffs/live?token=           websocket: queue changes and messages, live
Admins: GET /api/audit?target= — the audit log.
GET /console — the operator console.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Optional

from aiohttp import WSMsgType, web
from pydantic import BaseModel, Extra, Field

from desk.auth import Identity, require
from desk.errors import DeskError, InvalidInput, NotFound, Unauthorized
from desk.events import EVENT_BUS
from desk.handoff.rasa_client import RasaClient, RasaUnavailable
from desk.handoff.service import REASONS, HandoffService
from desk.handoff.store import create_handoff_store
from desk.keys import AUDIT, CLASSIFIER, PROFILE, SETTINGS, SIGNER, TICKETS
from desk.tickets.routes import dumps, parse_body
from desk.tickets.schema import TicketIn

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
HANDOFFS = web.AppKey("handoffs", HandoffService)
STATIC_DIR = Path(__file__).with_name("static")
REQUEUE_CHECK_S = 5.0
HEARTBEAT_S = 15.0


class EscalationIn(BaseModel):
    sender_id: str = Field(..., min_length=1, max_length=128)
    channel: str = Field("rest", min_length=1, max_length=32)
    reason: str = Field(..., regex="^(" + "|".join(REASONS) + ")$")
    draft: Dict[str, Any] = Field(default_factory=dict)

    class Config:
        extra = Extra.forbid


class MessageIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000)

    class Config:
        extra = Extra.forbid


class ReleaseIn(BaseModel):
    close: bool = False
    note: Optional[str] = Field(None, max_length=2000)

    class Config:
        extra = Extra.forbid


class DraftIn(BaseModel):
    description: Optional[str] = Field(None, max_length=5000)
    location: Optional[str] = Field(None, max_length=500)
    occurred_at: Optional[str] = Field(None, max_length=500)
    phone: Optional[str] = Field(None, max_length=32)
    scenario: Optional[str] = Field(None, max_length=130)

    class Config:
        extra = Extra.forbid


async def _optional_body(request: web.Request, model: Any) -> Any:
    return await parse_body(request, model) if request.can_read_body else model()


def _operator(request: web.Request) -> Identity:
    return require(request, request.app[SIGNER], role="operator")


# ---- the citizen's side ------------------------------------------------------------------------


@routes.post("/api/handoffs")
async def escalate(request: web.Request) -> web.Response:
    body = await parse_body(request, EscalationIn)
    status = await request.app[HANDOFFS].escalate(body.sender_id, body.channel, body.reason, body.draft)
    return web.json_response(status, status=201, dumps=dumps)


@routes.get("/api/handoffs/{sender_id}/status")
async def status(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HANDOFFS].status(request.match_info["sender_id"]), dumps=dumps)


@routes.delete("/api/handoffs/{sender_id}")
async def withdraw(request: web.Request) -> web.Response:
    result = await request.app[HANDOFFS].withdraw(request.match_info["sender_id"], "callback")
    return web.json_response(result, dumps=dumps)


# ---- operators ---------------------------------------------------------------------------------


@routes.get("/api/handoffs")
async def queue(request: web.Request) -> web.Response:
    identity = _operator(request)
    service = request.app[HANDOFFS]
    await service.touch(identity.username)
    return web.json_response(await service.queue(), dumps=dumps)


@routes.get("/api/handoffs/live")
async def live(request: web.Request) -> web.WebSocketResponse:
    """The console's live feed; the token comes as ``?token=`` (browsers cannot set headers)."""
    try:
        identity = request.app[SIGNER].verify(request.query.get("token", ""))
    except DeskError:
        raise Unauthorized("登录已失效，请重新登录") from None
    service = request.app[HANDOFFS]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
    await ws.prepare(request)
    subscription = await service.store.subscribe()
    pusher = asyncio.create_task(_push(ws, subscription))
    log.info("desk.console.connected operator=%s", identity.username)
    try:
        async for message in ws:  # the console pings every few seconds: the operator is there
            if message.type == WSMsgType.TEXT:
                await service.touch(identity.username)
    finally:
        pusher.cancel()
        await subscription.close()
        log.info("desk.console.disconnected operator=%s", identity.username)
    return ws


async def _push(ws: web.WebSocketResponse, subscription: Any) -> None:
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        while not ws.closed:
            message = await subscription.next(1.0)
            if message is not None:
                await ws.send_str(json.dumps(message, ensure_ascii=False))


@routes.get("/api/handoffs/{sender_id}")
async def conversation(request: web.Request) -> web.Response:
    identity = _operator(request)
    service = request.app[HANDOFFS]
    sender_id = request.match_info["sender_id"]
    view = next((h for h in await service.queue() if h["sender_id"] == sender_id), None)
    if view is None:
        raise NotFound("该会话不在人工队列中")
    await service.touch(identity.username)
    try:
        view["transcript"] = await service.rasa.transcript(sender_id)
    except RasaUnavailable:
        view["transcript"], view["transcript_error"] = [], "对话记录暂时无法读取"
    view["suggestion"] = _suggestion(request, view["draft"], view["transcript"])
    return web.json_response(view, dumps=dumps)


def _suggestion(request: web.Request, draft: Dict[str, Any], transcript: Any) -> Optional[Dict[str, Any]]:
    """What the dispatcher would do with the draft (or, without one, with what the citizen said)."""
    text = draft.get("description") or " ".join(t["text"] for t in transcript if t["from"] == "citizen")
    if not text:
        return None
    result = request.app[CLASSIFIER].classify(text[:2000], draft.get("location"))
    payload = result.as_dict()
    payload["owner_name"] = request.app[PROFILE].department_name(result.owner)
    payload["label"] = f"{result.category}.{result.scenario}" if result.category and result.scenario else None
    payload["sure"] = result.confidence >= request.app[PROFILE].dispatch_threshold
    return payload


@routes.post("/api/handoffs/{sender_id}/claim")
async def claim(request: web.Request) -> web.Response:
    identity = _operator(request)
    return web.json_response(
        await request.app[HANDOFFS].claim(request.match_info["sender_id"], identity.username), dumps=dumps
    )


@routes.post("/api/handoffs/{sender_id}/messages")
async def say(request: web.Request) -> web.Response:
    identity = _operator(request)
    body = await parse_body(request, MessageIn)
    await request.app[HANDOFFS].say(request.match_info["sender_id"], identity.username, body.text.strip())
    return web.json_response({"sent": True}, status=201)


@routes.put("/api/handoffs/{sender_id}/draft")
async def draft(request: web.Request) -> web.Response:
    identity = _operator(request)
    body = await parse_body(request, DraftIn)
    changes = {k: v for k, v in body.dict().items() if v is not None}
    result = await request.app[HANDOFFS].update_draft(
        request.match_info["sender_id"], identity.username, changes
    )
    return web.json_response({"draft": result}, dumps=dumps)


@routes.post("/api/handoffs/{sender_id}/ticket")
async def submit_ticket(request: web.Request) -> web.Response:
    """Files the (edited) draft as a ticket for the conversation's citizen."""
    identity = _operator(request)
    sender_id = request.match_info["sender_id"]
    body = await parse_body(request, DraftIn)
    service = request.app[HANDOFFS]
    handoff = await service.held_by(sender_id, identity.username)
    fields = {**handoff.draft, **{k: v for k, v in body.dict().items() if v is not None}}
    if not fields.get("description"):
        raise InvalidInput("工单需要填写诉求内容", {"description": "必填"})
    try:
        ticket_in = TicketIn(
            sender_id=sender_id,
            channel=handoff.channel,
            description=fields["description"],
            location=fields.get("location"),
            occurred_at=fields.get("occurred_at"),
            phone=fields.get("phone"),
            contact_anonymous=not fields.get("phone"),
            scenario=fields.get("scenario"),
        )
    except ValueError as exc:
        raise InvalidInput("工单字段不合法", {"reason": str(exc)}) from None
    ticket, _ = await request.app[TICKETS].create(ticket_in, f"handoff:{sender_id}:{handoff.claimed_at}")
    await service.update_draft(sender_id, identity.username, {"ticket_id": ticket["id"]})
    await asyncio.to_thread(
        request.app[AUDIT].record, identity.username, "handoff.ticket", sender_id, ticket_id=ticket["id"]
    )
    return web.json_response(ticket, status=201, dumps=dumps)


@routes.post("/api/handoffs/{sender_id}/release")
async def release(request: web.Request) -> web.Response:
    identity = _operator(request)
    body = await _optional_body(request, ReleaseIn)
    await request.app[HANDOFFS].release(
        request.match_info["sender_id"], identity.username, body.close, body.note
    )
    return web.json_response({"released": True, "closed": body.close})


@routes.get("/api/audit")
async def audit(request: web.Request) -> web.Response:
    require(request, request.app[SIGNER], role="admin")
    target = request.query.get("target")
    entries = await asyncio.to_thread(request.app[AUDIT].entries, target)
    return web.json_response(entries, dumps=dumps)


@routes.get("/console")
async def console_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "console.html", headers={"Cache-Control": "no-store"})


@routes.get("/console/static/{name}")
async def console_static(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in {"console.js", "console.css"}:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})


async def handoff_context(app: web.Application) -> AsyncIterator[None]:
    """Opens the store and the Rasa client, follows events, requeues silent operators."""
    settings = app[SETTINGS]
    store = create_handoff_store(settings.handoff_store)
    rasa = RasaClient(
        settings.rasa_url, settings.rasa_token.get_secret_value() if settings.rasa_token else None
    )
    service = HandoffService(store, rasa, app[AUDIT], operator_timeout_s=settings.handoff_operator_timeout_s)
    app[HANDOFFS] = service
    app[EVENT_BUS].subscribe(service.on_events)
    watcher = asyncio.create_task(_requeue_loop(service))
    yield
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await rasa.close()
    await store.close()


async def _requeue_loop(service: HandoffService) -> None:
    while True:
        await asyncio.sleep(REQUEUE_CHECK_S)
        try:
            await service.requeue_stale()
        except Exception:
            log.exception("desk.handoff.requeue_failed")
