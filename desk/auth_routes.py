"""POST /api/auth/login: operators and admins exchange a password for a bearer token."""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel, Extra, constr

from desk.auth import authenticate
from desk.keys import SIGNER, USERS
from desk.tickets.routes import parse_body

routes = web.RouteTableDef()


class LoginIn(BaseModel):
    username: constr(strip_whitespace=True, min_length=1, max_length=64)  # type: ignore[valid-type]
    password: constr(min_length=1, max_length=200)  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await parse_body(request, LoginIn)
    identity = await asyncio.to_thread(authenticate, request.app[USERS], body.username, body.password)
    token = request.app[SIGNER].issue(identity)
    return web.json_response({"token": token, "username": identity.username, "role": identity.role})
