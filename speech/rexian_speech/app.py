"""The speech service: ``create_app(settings)`` builds the aiohttp application.

Routes: ``GET /health``, ``POST /transcribe`` and the websocket ``GET /stream``.
The model is loaded once in a ``cleanup_ctx`` hook; inference runs in a bounded thread
pool, and requests beyond ``max_pending`` waiting jobs are refused with 503.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from aiohttp import web

from .asr import Transcriber, load_transcriber
from .audio import Audio, decode, to_model_rate
from .errors import AudioTooLarge, BadParameter, NotReady, Overloaded, SpeechError
from .settings import SpeechSettings

logger = logging.getLogger(__name__)
_dumps = functools.partial(json.dumps, ensure_ascii=False)

SETTINGS = web.AppKey("settings", SpeechSettings)


class Engine:
    """The loaded model plus the bounded pool its jobs run in."""

    def __init__(self, transcriber: Transcriber, settings: SpeechSettings) -> None:
        self.transcriber = transcriber
        self.settings = settings
        self.pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="asr")
        self.pending = 0

    async def run(self, samples: np.ndarray) -> str:
        """Transcribes in the pool; refuses work once too many jobs are waiting."""
        if self.pending >= self.settings.workers + self.settings.max_pending:
            raise Overloaded()
        self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, self.transcriber.transcribe, samples)
        finally:
            self.pending -= 1

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


ENGINE = web.AppKey("engine", Engine)


async def engine_ctx(app: web.Application) -> AsyncIterator[None]:
    """Loads the model once at start-up (off the event loop) and frees it at shutdown."""
    settings = app[SETTINGS]
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    transcriber = await loop.run_in_executor(None, load_transcriber, settings)
    app[ENGINE] = Engine(transcriber, settings)
    logger.info("speech.ready load_s=%.1f", time.perf_counter() - started)
    yield
    app[ENGINE].close()


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The one place where typed errors become HTTP responses."""
    try:
        return await handler(request)
    except SpeechError as exc:
        logger.warning("speech.request.rejected code=%s path=%s", exc.code, request.path)
        return web.json_response(dumps=_dumps, data=exc.to_json(), status=exc.status)
    except web.HTTPRequestEntityTooLarge:
        error = AudioTooLarge(_too_large_message(request.app[SETTINGS]))
        return web.json_response(dumps=_dumps, data=error.to_json(), status=error.status)


def _too_large_message(settings: SpeechSettings) -> str:
    return f"音频文件过大，上限为 {settings.max_upload_bytes // (1024 * 1024)} MB"


async def health(request: web.Request) -> web.Response:
    engine = request.app.get(ENGINE)
    if engine is None:
        raise NotReady()
    settings = request.app[SETTINGS]
    return web.json_response(dumps=_dumps, data=
        {"status": "ok", "backend": engine.transcriber.name, "language": settings.language}
    )


def _pcm_rate(request: web.Request) -> int | None:
    raw = request.query.get("rate")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise BadParameter("rate 参数必须是整数采样率，例如 8000 或 16000") from exc


async def read_audio(request: web.Request, settings: SpeechSettings) -> Audio:
    """Size is checked before the body is read, duration right after decoding."""
    limit = settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise AudioTooLarge(_too_large_message(settings))
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:  # chunked uploads carry no Content-Length
            raise AudioTooLarge(_too_large_message(settings))
    audio = decode(bytes(body), _pcm_rate(request), settings.max_duration_s)
    return to_model_rate(audio)


async def transcribe(request: web.Request) -> web.Response:
    engine = request.app.get(ENGINE)
    if engine is None:
        raise NotReady()
    started = time.perf_counter()
    audio = await read_audio(request, request.app[SETTINGS])
    text = await engine.run(audio.samples)
    elapsed = time.perf_counter() - started
    logger.info("speech.transcribed duration_s=%.2f elapsed_s=%.2f", audio.duration_s, elapsed)
    return web.json_response(dumps=_dumps, data=
        {"text": text, "duration_s": round(audio.duration_s, 3), "elapsed_s": round(elapsed, 3)}
    )


def create_app(settings: SpeechSettings) -> web.Application:
    """Builds the service; the model loads when the app starts, not here."""
    from .streaming import stream_handler

    app = web.Application(
        middlewares=[error_middleware], client_max_size=settings.max_upload_bytes + 1
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(engine_ctx)
    app.router.add_get("/health", health)
    app.router.add_post("/transcribe", transcribe)
    app.router.add_get("/stream", stream_handler)
    return app


def run(settings: SpeechSettings, **kwargs: Any) -> None:
    """Serves until interrupted."""
    web.run_app(create_app(settings), host=settings.host, port=settings.port, **kwargs)
