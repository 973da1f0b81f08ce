"""HTTP API of the knowledge base, and its start-up/shutdown as an aiohttp cleanup context.

POST   /api/kb/answer            {"question", "context"?} -> {"answer", "sources", "confidence"}
GET    /api/kb/documents         documents with validity, and files skipped as broken
POST   /api/kb/documents         admin: Markdown body, or JSON {"filename"?, "content"}
DELETE /api/kb/documents/{id}    admin
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import AsyncIterator, Callable, Dict, Optional, Tuple

from aiohttp import web
from pydantic import BaseModel, Field

from desk.auth import require
from desk.errors import BadRequest, InvalidInput
from desk.kb.documents import DocumentError
from desk.kb.embedding import load_embedder
from desk.kb.engine import KnowledgeBase
from desk.keys import SIGNER
from desk.settings import ROOT
from desk.tickets.routes import dumps, parse_body

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
KB = web.AppKey("kb", KnowledgeBase)
DEFAULT_KB_DIR = ROOT / "desk" / "city" / "shifan" / "kb"
DEFAULT_CACHE_DIR = ROOT / "var" / "kb-cache"
WATCH_INTERVAL_S = 1.0
MAX_QUESTION = 500
_ENGINES: Dict[Tuple[Optional[Path], Optional[str], Optional[Path], str], KnowledgeBase] = {}


class AnswerIn(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION)
    context: Optional[str] = Field(None, max_length=MAX_QUESTION)


class DocumentIn(BaseModel):
    content: str = Field(..., min_length=1)
    filename: Optional[str] = None


@routes.post("/api/kb/answer")
async def answer(request: web.Request) -> web.Response:
    body = await parse_body(request, AnswerIn)
    if not body.question.strip():
        raise InvalidInput("问题不能为空", {"fields": [{"field": "question", "reason": "blank"}]})
    result = await asyncio.to_thread(request.app[KB].answer, body.question, body.context)
    return web.json_response(result.as_dict(), dumps=dumps)


@routes.get("/api/kb/documents")
async def list_documents(request: web.Request) -> web.Response:
    listing = await asyncio.to_thread(request.app[KB].documents)
    return web.json_response(listing, dumps=dumps)


@routes.post("/api/kb/documents")
async def upload_document(request: web.Request) -> web.Response:
    require(request, request.app[SIGNER], role="admin")  # before the body is read
    content, filename = await _upload(request)
    try:
        document, created = await asyncio.to_thread(request.app[KB].add, content, filename)
    except DocumentError as exc:
        raise InvalidInput("文档未通过校验", exc.as_dict()) from None
    summary = document.summary(request.app[KB].today())
    return web.json_response(summary, status=201 if created else 200, dumps=dumps)


async def _upload(request: web.Request) -> Tuple[str, Optional[str]]:
    if request.content_type == "application/json":
        body = await parse_body(request, DocumentIn)
        return body.content, body.filename
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("文档必须是 UTF-8 编码的 Markdown") from None
    if not text.strip():
        raise BadRequest("请求体为空，应为 Markdown 文档")
    return text, None


@routes.delete("/api/kb/documents/{doc_id}")
async def delete_document(request: web.Request) -> web.Response:
    require(request, request.app[SIGNER], role="admin")
    await asyncio.to_thread(request.app[KB].delete, request.match_info["doc_id"])
    return web.Response(status=204)


def build_knowledge_base(
    directory: Optional[Path] = None,
    embedder: Optional[str] = None,
    cache_dir: Optional[Path] = None,
    timezone: str = "Asia/Shanghai",
) -> KnowledgeBase:
    """The engine for `directory` (default: KB_DIR, else the demo city's KB)."""
    directory = directory or Path(os.environ.get("KB_DIR") or DEFAULT_KB_DIR)
    spec = embedder if embedder is not None else os.environ.get("KB_EMBEDDER")
    cache = cache_dir or Path(os.environ.get("KB_CACHE_DIR") or DEFAULT_CACHE_DIR)
    if not directory.is_dir():
        log.warning("kb.directory.missing path=%s", directory)
    return KnowledgeBase(directory, load_embedder(spec), cache, timezone=timezone)


def kb_context_for(
    directory: Optional[Path] = None,
    embedder: Optional[str] = None,
    cache_dir: Optional[Path] = None,
    timezone: str = "Asia/Shanghai",
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context: builds the engine once at start-up and watches the directory."""

    async def kb_context(app: web.Application) -> AsyncIterator[None]:
        key = (directory, embedder, cache_dir, timezone)
        if key not in _ENGINES:  # one engine per directory and process: apps share it
            _ENGINES[key] = await asyncio.to_thread(
                build_knowledge_base, directory, embedder, cache_dir, timezone
            )
        kb = _ENGINES[key]
        kb.refresh_on_request = False  # the watcher reloads; requests never wait for it
        app[KB] = kb
        watcher = asyncio.create_task(_watch(kb))
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    return kb_context


kb_context = kb_context_for()


async def _watch(kb: KnowledgeBase) -> None:
    """Re-reads changed documents in the background, so requests never wait for a reload."""
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        try:
            await asyncio.to_thread(kb.refresh)
        except Exception:  # keep watching: the next scan may succeed
            log.exception("kb.reload.failed")
