"""desk: the hotline platform service (tickets, dispatch, knowledge base; later handoffs, admin)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import AsyncIterator, Awaitable, Callable

from aiohttp import web

from desk.admin.routes import admin_context
from desk.admin.routes import routes as admin_routes
from desk.audit import AuditLog
from desk.auth import TokenSigner, UserRepository
from desk.auth_routes import routes as auth_routes
from desk.city.profile import CityProfile, load_profile
from desk.db import make_engine, migrate
from desk.dispatch.routes import routes as dispatch_routes
from desk.dispatch.training import build_dispatcher, data_dir_for
from desk.errors import DeskError
from desk.events import EVENT_BUS, EVENTS_TOKEN, EventBus
from desk.events import routes as event_routes
from desk.handoff.routes import handoff_context
from desk.handoff.routes import routes as handoff_routes
from desk.kb.routes import kb_context_for
from desk.kb.routes import routes as kb_routes
from desk.keys import AUDIT, CLASSIFIER, PROFILE, SETTINGS, SIGNER, TICKETS, USERS
from desk.settings import Settings
from desk.tickets.repository import TicketRepository
from desk.tickets.routes import routes as ticket_routes
from desk.tickets.service import TicketService
from desk.web.routes import UPLOAD_LIMITER, UploadLimiter
from desk.web.routes import routes as web_routes

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error_response(status: int, code: str, message: str, **details: object) -> web.Response:
    body: dict = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The one place where errors become HTTP responses."""
    try:
        return await handler(request)
    except DeskError as exc:
        log.info("desk.request.rejected path=%s code=%s", request.path, exc.code)
        return web.json_response(
            exc.as_dict(),
            status=exc.status,
            headers=exc.headers(),
            dumps=lambda v: json.dumps(v, ensure_ascii=False),
        )
    except web.HTTPRequestEntityTooLarge:
        return _error_response(413, "too_large", "请求体过大")
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error_response(exc.status, "http_error", exc.reason)
        raise
    except Exception:
        log.exception("desk.request.failed path=%s", request.path)
        return _error_response(500, "internal_error", "服务内部错误，请稍后再试")


async def health(request: web.Request) -> web.Response:
    profile: CityProfile = request.app[PROFILE]
    return web.json_response({"status": "ok", "service": "desk", "city": profile.city.code})


def create_app(settings: Settings) -> web.Application:
    """Builds desk; the profile is validated here so a bad one fails before serving."""
    profile = load_profile(settings.profile_path)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware])
    app[SETTINGS] = settings
    secret = settings.secret.get_secret_value().encode() if settings.secret else secrets.token_bytes(32)
    app[SIGNER] = TokenSigner(secret, settings.token_ttl_s)
    app[PROFILE] = profile
    app[EVENT_BUS] = EventBus()
    app[EVENTS_TOKEN] = settings.events_token.get_secret_value() if settings.events_token else ""
    app[UPLOAD_LIMITER] = UploadLimiter(settings.chat_uploads_per_window, settings.chat_upload_window_s)
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.append(admin_context)
    app.router.add_get("/health", health)
    app.router.add_routes(auth_routes)
    app.router.add_routes(ticket_routes)
    app.router.add_routes(dispatch_routes)
    app.router.add_routes(kb_routes)
    app.router.add_routes(web_routes)
    app.router.add_routes(event_routes)
    app.router.add_routes(admin_routes)
    app.router.add_routes(handoff_routes)
    app.cleanup_ctx.append(
        kb_context_for(settings.kb_dir, settings.kb_embedder, settings.kb_cache_dir, profile.city.timezone)
    )
    app.cleanup_ctx.append(handoff_context)
    return app


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_engine(settings.database_url)
    await asyncio.to_thread(migrate, engine)
    app[USERS] = UserRepository(engine)
    app[AUDIT] = AuditLog(engine)
    if settings.admin_user and settings.admin_password:
        await asyncio.to_thread(
            app[USERS].ensure, settings.admin_user, settings.admin_password.get_secret_value(), "admin"
        )
    repository = TicketRepository(engine)
    corrections = await asyncio.to_thread(repository.corrections)
    data_dir = settings.dispatch_data_dir or data_dir_for(settings.profile_path)
    app[CLASSIFIER] = await asyncio.to_thread(
        build_dispatcher, app[PROFILE], data_dir, settings.model_cache_dir, corrections
    )
    app[TICKETS] = TicketService(repository, app[PROFILE], app[CLASSIFIER])
    yield
    engine.dispose()
