"""HTTP handlers of the ticket and dispatch API; thin wrappers over the services."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Type, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from desk.auth import identity_of, require
from desk.errors import BadRequest, InvalidInput
from desk.keys import SIGNER, TICKETS
from desk.tickets.schema import TicketIn, TicketUpdate

routes = web.RouteTableDef()
Model = TypeVar("Model", bound=BaseModel)
MAX_IDEMPOTENCY_KEY = 200


async def parse_body(request: web.Request, model: Type[Model]) -> Model:
    """Parses a JSON body into ``model``; bad input raises a typed error."""
    try:
        raw = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("请求体不是有效的 JSON") from None
    if not isinstance(raw, dict):
        raise BadRequest("请求体必须是 JSON 对象")
    try:
        return model.parse_obj(raw)
    except ValidationError as exc:
        raise InvalidInput(
            "请求字段不合法",
            {"fields": [_field_error(e) for e in exc.errors()]},
        ) from None


def _field_error(error: Mapping[str, Any]) -> Dict[str, str]:
    return {"field": ".".join(str(p) for p in error["loc"]), "reason": error["msg"]}


@routes.post("/api/tickets")
async def create_ticket(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise BadRequest(f"Idempotency-Key 长度应为 1 到 {MAX_IDEMPOTENCY_KEY} 个字符")
    ticket_in = await parse_body(request, TicketIn)
    ticket, created = await request.app[TICKETS].create(ticket_in, key)
    return web.json_response(ticket, status=201 if created else 200, dumps=dumps)


@routes.get("/api/tickets/{ticket_id}")
async def get_ticket(request: web.Request) -> web.Response:
    operator = identity_of(request, request.app[SIGNER])  # operators see the full phone
    ticket = await request.app[TICKETS].get(
        request.match_info["ticket_id"], reveal_phone=operator is not None
    )
    return web.json_response(ticket, dumps=dumps)


@routes.patch("/api/tickets/{ticket_id}")
async def update_ticket(request: web.Request) -> web.Response:
    operator = require(request, request.app[SIGNER])
    change = await parse_body(request, TicketUpdate)
    ticket = await request.app[TICKETS].update(request.match_info["ticket_id"], change, operator.username)
    return web.json_response(ticket, dumps=dumps)


@routes.get("/api/tickets")
async def list_tickets(request: web.Request) -> web.Response:
    sender_id = request.query.get("sender_id", "").strip()
    if not sender_id:
        raise BadRequest("需要查询参数 sender_id")
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError:
        raise BadRequest("limit 必须是整数") from None
    if not 1 <= limit <= 200:
        raise BadRequest("limit 应在 1 到 200 之间")
    tickets = await request.app[TICKETS].list_by_sender(sender_id, limit)
    return web.json_response(tickets, dumps=dumps)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
