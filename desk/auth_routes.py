"""Logins and desk accounts.

POST /api/auth/login        operators and admins exchange a password for a bearer token
GET  /api/users             admins: the accounts
POST /api/users             admins: {"username", "password", "role"} adds an account
POST /api/users/{name}/password   admins (or the user themself): {"password"} sets a new one
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel, Extra, constr

from desk.auth import ROLES, authenticate, require
from desk.errors import Conflict, Forbidden, NotFound
from desk.keys import AUDIT, SIGNER, USERS
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


class UserIn(BaseModel):
    username: constr(strip_whitespace=True, regex=r"^[A-Za-z0-9_.\-]{2,64}$")  # type: ignore[valid-type]
    password: constr(min_length=10, max_length=200)  # type: ignore[valid-type]
    role: constr(regex="^(" + "|".join(ROLES) + ")$") = "operator"  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid


class PasswordIn(BaseModel):
    password: constr(min_length=10, max_length=200)  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid


@routes.get("/api/users")
async def list_users(request: web.Request) -> web.Response:
    require(request, request.app[SIGNER], role="admin")
    return web.json_response(await asyncio.to_thread(request.app[USERS].list))


@routes.post("/api/users")
async def create_user(request: web.Request) -> web.Response:
    admin = require(request, request.app[SIGNER], role="admin")
    body = await parse_body(request, UserIn)
    if not await asyncio.to_thread(request.app[USERS].create, body.username, body.password, body.role):
        raise Conflict(f"账号 {body.username} 已存在")
    await asyncio.to_thread(
        request.app[AUDIT].record, admin.username, "user.create", body.username, role=body.role
    )
    return web.json_response({"username": body.username, "role": body.role}, status=201)


@routes.post("/api/users/{username}/password")
async def set_password(request: web.Request) -> web.Response:
    identity = require(request, request.app[SIGNER], role="operator")
    username = request.match_info["username"]
    if identity.username != username and identity.role != "admin":
        raise Forbidden("只能修改自己的密码")
    body = await parse_body(request, PasswordIn)
    if not await asyncio.to_thread(request.app[USERS].set_password, username, body.password):
        raise NotFound(f"账号 {username} 不存在")
    await asyncio.to_thread(request.app[AUDIT].record, identity.username, "user.password", username)
    return web.json_response({"username": username, "changed": True})
