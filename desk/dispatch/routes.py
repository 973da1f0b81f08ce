"""HTTP API of dispatch: classify a message; admins retrain from the latest corrections."""

from __future__ import annotations

import asyncio

from aiohttp import web

from desk.auth import require
from desk.dispatch.training import build_dispatcher, data_dir_for
from desk.keys import CLASSIFIER, PROFILE, SETTINGS, SIGNER, TICKETS
from desk.tickets.routes import dumps, parse_body
from desk.tickets.schema import ClassifyIn

routes = web.RouteTableDef()


@routes.post("/api/classify")
async def classify(request: web.Request) -> web.Response:
    body = await parse_body(request, ClassifyIn)
    result = request.app[CLASSIFIER].classify(body.text, body.location)
    payload = result.as_dict()
    profile = request.app[PROFILE]
    payload["owner_name"] = profile.department_name(result.owner)
    payload["advice"] = profile.advice(result.category, result.scenario) if result.urgent else None
    return web.json_response(payload, dumps=dumps)


@routes.post("/api/dispatch/retrain")
async def retrain(request: web.Request) -> web.Response:
    """Retrains on the city's data plus every reassignment so far, then switches over."""
    require(request, request.app[SIGNER], role="admin")
    settings = request.app[SETTINGS]
    corrections = await request.app[TICKETS].corrections()
    data_dir = settings.dispatch_data_dir or data_dir_for(settings.profile_path)
    fresh = await asyncio.to_thread(
        build_dispatcher, request.app[PROFILE], data_dir, settings.model_cache_dir, corrections
    )
    request.app[CLASSIFIER].adopt(fresh)
    return web.json_response({"learned": fresh.learned, "corrections": len(corrections)})
