"""HTTP API and page of desk's admin side (every call needs an admin's bearer token).

GET  /admin                            the admin page (审核队列、训练数据、模型)
GET  /api/review?status=open           the review queue (dispatchers' reassignments included)
POST /api/review/{id}                  {"action": "annotate", "intent", "text"?, "entities"?}
                                       or {"action": "dismiss"}
GET  /api/nlu/examples?intent=         examples (with their file); POST adds, PUT edits, DELETE removes
GET  /api/nlu/tables                   synonyms and lookup tables; PUT /api/nlu/tables/{kind}/{name}
GET  /api/models                       the registry, the running model marked active
POST /api/models/train                 {"mode": "auto" | "full" | "finetune"} -> 202, trains in the background
GET  /api/models/{id}                  one model with progress; /compare: beside the active one
POST /api/models/{id}/promote          swap Rasa to it (PUT /model); /rollback: back to an earlier one
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator, Dict

from aiohttp import web

from desk.admin.evaluation import EvaluationFailed
from desk.admin.review import REASONS, ReviewCollector
from desk.admin.service import AdminService
from desk.auth import require
from desk.db import make_engine
from desk.errors import BadRequest, DeskError, InvalidInput, NotFound
from desk.events import EVENT_BUS
from desk.keys import ADMIN, AUDIT, PROFILE, SETTINGS, SIGNER

routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {"admin.js": "application/javascript", "admin.css": "text/css"}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def _body(request: web.Request) -> Dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("请求体须为 JSON 对象")
    return body


def _admin(request: web.Request) -> str:
    return require(request, request.app[SIGNER], "admin").username


@routes.get("/admin")
async def admin_page(request: web.Request) -> web.Response:
    page = (STATIC_DIR / "admin.html").read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


@routes.get("/admin/static/{name}")
async def admin_static(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise NotFound("没有这个文件")
    return web.FileResponse(STATIC_DIR / name, headers={"Content-Type": STATIC_FILES[name]})


@routes.get("/api/review")
async def review_queue(request: web.Request) -> web.Response:
    _admin(request)
    service = request.app[ADMIN]
    status = request.query.get("status", "open")
    if status not in ("open", "annotated", "dismissed", "all"):
        raise InvalidInput("status 须为 open、annotated、dismissed 或 all")
    await asyncio.to_thread(service.reviews.import_reassignments)
    items = await asyncio.to_thread(service.reviews.list, None if status == "all" else status)
    counts = await asyncio.to_thread(service.reviews.counts)
    return _json({"items": items, "counts": counts, "reasons": list(REASONS), **service.vocabulary()})


@routes.post(r"/api/review/{id:\d+}")
async def review_decide(request: web.Request) -> web.Response:
    actor = _admin(request)
    item = await request.app[ADMIN].resolve_review(int(request.match_info["id"]), await _body(request), actor)
    return _json(item)


@routes.get("/api/nlu/examples")
async def list_examples(request: web.Request) -> web.Response:
    _admin(request)
    data = await asyncio.to_thread(request.app[ADMIN].data)
    intent = request.query.get("intent")
    examples = data.by_intent(intent) if intent else data.examples
    counts: Dict[str, int] = {}
    for example in data.examples:
        counts[example.intent] = counts.get(example.intent, 0) + 1
    return _json({"examples": [e.as_dict() for e in examples], "counts": counts, "generated": data.generated})


@routes.post("/api/nlu/examples")
async def add_example(request: web.Request) -> web.Response:
    actor = _admin(request)
    service = request.app[ADMIN]
    example = service.example_from(await _body(request))
    path = await service.add_example(example, actor)
    return _json({**example.as_dict(), "file": path}, status=201)


@routes.put("/api/nlu/examples")
async def edit_example(request: web.Request) -> web.Response:
    """{"intent", "old_text", "text", "entities"?, "new_intent"?}"""
    actor = _admin(request)
    service = request.app[ADMIN]
    body = await _body(request)
    new = service.example_from({**body, "intent": body.get("new_intent") or body.get("intent")})
    path = await service.edit_example(str(body.get("intent")), str(body.get("old_text")), new, actor)
    return _json({**new.as_dict(), "file": path})


@routes.delete("/api/nlu/examples")
async def delete_example(request: web.Request) -> web.Response:
    actor = _admin(request)
    body = await _body(request)
    path = await request.app[ADMIN].edit_example(str(body.get("intent")), str(body.get("text")), None, actor)
    return _json({"deleted": True, "file": path})


@routes.get("/api/nlu/tables")
async def list_tables(request: web.Request) -> web.Response:
    _admin(request)
    data = await asyncio.to_thread(request.app[ADMIN].data)
    return _json({"synonyms": data.synonyms, "lookups": data.lookups})


@routes.put(r"/api/nlu/tables/{kind:synonym|lookup}/{name}")
async def set_table(request: web.Request) -> web.Response:
    actor = _admin(request)
    body = await _body(request)
    entries = body.get("examples")
    if not isinstance(entries, list):
        raise InvalidInput("examples 须为字符串列表")
    kind, name = request.match_info["kind"], request.match_info["name"]
    path = await request.app[ADMIN].set_table(kind, name, entries, actor)
    return _json({"kind": kind, "name": name, "file": path})


@routes.get("/api/models")
async def list_models(request: web.Request) -> web.Response:
    _admin(request)
    service = request.app[ADMIN]
    models = await service.models()
    training = service.job is not None and not service.job.done()
    return _json({"models": [_summary(m) for m in models], "training": training})


def _summary(model: Dict[str, Any]) -> Dict[str, Any]:
    metrics = model.get("metrics") or {}
    figures = {k: metrics.get(k) for k in ("intent_f1", "intent_accuracy", "dispatch_accuracy", "error")}
    return {**{k: v for k, v in model.items() if k not in ("metrics", "fingerprint")}, "metrics": figures}


@routes.post("/api/models/train")
async def train(request: web.Request) -> web.Response:
    actor = _admin(request)
    body = await _body(request) if request.can_read_body else {}
    model = await request.app[ADMIN].start_training(str(body.get("mode", "auto")), actor)
    return _json(_summary(model), status=202)


@routes.get("/api/models/{id}")
async def get_model(request: web.Request) -> web.Response:
    _admin(request)
    model = await asyncio.to_thread(request.app[ADMIN].registry.get, request.match_info["id"])
    return _json(_summary(model))


@routes.get("/api/models/{id}/compare")
async def compare_model(request: web.Request) -> web.Response:
    _admin(request)
    try:
        return _json(await request.app[ADMIN].comparison(request.match_info["id"]))
    except EvaluationFailed as exc:
        raise EvaluationError("评估失败", {"detail": str(exc)[-1000:]}) from None


@routes.post("/api/models/{id}/promote")
async def promote(request: web.Request) -> web.Response:
    actor = _admin(request)
    return _json(_summary(await request.app[ADMIN].promote(request.match_info["id"], actor)))


@routes.post("/api/models/{id}/rollback")
async def rollback(request: web.Request) -> web.Response:
    actor = _admin(request)
    return _json(_summary(await request.app[ADMIN].rollback(request.match_info["id"], actor)))


class EvaluationError(DeskError):
    status = 502
    code = "evaluation_failed"


async def admin_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the admin service on its own engine; the review queue follows Rasa's events."""
    engine = make_engine(app[SETTINGS].database_url)
    service = AdminService.from_settings(app[SETTINGS], engine, app[AUDIT], app[PROFILE])
    app[ADMIN] = service
    app[EVENT_BUS].subscribe(ReviewCollector(service.reviews, app[SETTINGS].review_threshold))
    yield
    await service.close()
    engine.dispose()
