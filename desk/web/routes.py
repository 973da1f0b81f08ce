"""The citizens' web chat page and what it uploads.

GET  /chat                  the H5 chat page (it talks to Rasa's web chat channel by websocket)
GET  /chat/static/{file}    its script and style sheet
POST /api/chat/uploads      an image (JPEG, PNG, GIF, WebP; body = the file) -> {"url"}
POST /api/chat/voice        a WAV recording -> {"text", "url"} through the speech service
GET  /uploads/{name}        an uploaded file (names are unguessable)

Uploads are limited per client address (`CHAT_UPLOADS_PER_WINDOW` in `CHAT_UPLOAD_WINDOW_S`;
behind a proxy, the address in `CHAT_CLIENT_HEADER`): a page gone wrong or a script cannot fill
the disk or keep the speech service busy. Past the limit the answer is 429 with Retry-After
and a Chinese message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import deque
from pathlib import Path
from typing import Callable, Deque, Dict, Optional, Tuple

import aiohttp
from aiohttp import web

from desk.errors import BadRequest, DeskError, InvalidInput, NotFound
from desk.keys import PROFILE, SETTINGS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).with_name("static")
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_VOICE_BYTES = 4 * 1024 * 1024
IMAGE_TYPES = (  # magic bytes -> extension and content type; the declared type is not trusted
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
    (b"GIF87a", ".gif", "image/gif"),
    (b"GIF89a", ".gif", "image/gif"),
)
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".wav": "audio/wav",
}
SPEECH_TIMEOUT_S = 30


class PayloadTooLarge(DeskError):
    status = 413
    code = "too_large"


class UnsupportedMedia(DeskError):
    status = 415
    code = "unsupported_media"


class SpeechUnavailable(DeskError):
    status = 503
    code = "speech_unavailable"


class TooManyUploads(DeskError):
    status = 429
    code = "too_many_uploads"

    def headers(self) -> Dict[str, str]:
        return {"Retry-After": str(self.details["retry_after_s"])}


class UploadLimiter:
    """At most `limit` uploads per client in any `window_s` seconds (sliding window, in
    memory: each desk process counts its own)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._seen: Dict[str, Deque[float]] = {}

    def check(self, client: str) -> None:
        """Counts one upload by `client`; raises `TooManyUploads` past the limit."""
        now = self._clock()
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if len(seen) >= self.limit:
            wait = int(seen[0] + self.window_s - now) + 1
            raise TooManyUploads(f"上传太频繁，请{wait}秒后再试", {"retry_after_s": wait})
        seen.append(now)
        if len(self._seen) > 10_000:  # forget clients whose window has passed
            self._seen = {c: q for c, q in self._seen.items() if q and q[-1] > now - self.window_s}


UPLOAD_LIMITER = web.AppKey("upload_limiter", UploadLimiter)


def _count_upload(request: web.Request) -> None:
    """Counts an upload against the client's address: the peer's, or behind a reverse proxy
    the header it sets (`CHAT_CLIENT_HEADER`, e.g. X-Real-IP), else every citizen would share
    the proxy's one limit."""
    header = request.app[SETTINGS].chat_client_header
    client = (request.headers.get(header, "") if header else "").split(",")[0].strip()
    request.app[UPLOAD_LIMITER].check(client or request.remote or "unknown")


@routes.get("/chat")
async def chat_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    profile = request.app[PROFILE]
    config = {
        "socketUrl": settings.chat_socket_url or "",
        "rasaPort": settings.rasa_port,
        "city": profile.city.name,
    }
    page = (STATIC_DIR / "chat.html").read_text(encoding="utf-8")
    page = page.replace("{{CITY}}", profile.city.name).replace(
        "{{CONFIG}}", json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    )
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


@routes.get("/chat/static/{name}")
async def chat_static(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in {"chat.js", "chat.css"}:
        raise NotFound("文件不存在")
    return web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})


@routes.post("/api/chat/uploads")
async def upload_image(request: web.Request) -> web.Response:
    _count_upload(request)
    body = await _read_capped(request, MAX_IMAGE_BYTES, "图片不能超过 5 MB")
    extension = _image_extension(body)
    url = _store(request, body, extension)
    log.info("desk.chat.upload kind=image bytes=%d", len(body))
    return web.json_response({"url": url}, status=201)


@routes.post("/api/chat/voice")
async def transcribe_voice(request: web.Request) -> web.Response:
    _count_upload(request)
    body = await _read_capped(request, MAX_VOICE_BYTES, "语音太长了，请分几段说")
    if len(body) < 44 or body[:4] != b"RIFF" or body[8:12] != b"WAVE":
        raise UnsupportedMedia("语音格式不正确（需要 WAV）")
    url = _store(request, body, ".wav")  # kept even when transcription fails
    text = await _transcribe(request.app[SETTINGS].speech_url, body)
    log.info("desk.chat.voice bytes=%d chars=%d", len(body), len(text))
    return web.json_response({"text": text, "url": url})


@routes.get("/uploads/{name}")
async def uploaded(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    stem, dot, extension = name.partition(".")
    if not (stem.replace("-", "").replace("_", "").isalnum() and dot and f".{extension}" in CONTENT_TYPES):
        raise NotFound("文件不存在")
    path = request.app[SETTINGS].upload_dir / name
    if not path.is_file():
        raise NotFound("文件不存在")
    return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES[f".{extension}"]})


async def _read_capped(request: web.Request, limit: int, message: str) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(message)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(message)
        chunks.append(chunk)
    if not size:
        raise BadRequest("没有收到文件内容")
    return b"".join(chunks)


def _image_extension(body: bytes) -> str:
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return ".webp"
    for magic, extension, _ in IMAGE_TYPES:
        if body.startswith(magic):
            return extension
    raise UnsupportedMedia("只支持 JPG、PNG、GIF、WebP 图片")


def _store(request: web.Request, body: bytes, extension: str) -> str:
    directory: Path = request.app[SETTINGS].upload_dir
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(18) + extension
    (directory / name).write_bytes(body)
    return f"/uploads/{name}"


async def _transcribe(speech_url: Optional[str], audio: bytes) -> str:
    if not speech_url:
        raise SpeechUnavailable("语音识别暂未开通，请改用文字")
    text, status, problem = await _post_audio(speech_url.rstrip("/") + "/transcribe", audio)
    if problem and 400 <= status < 500:  # the recording itself was refused (too long, unreadable)
        raise InvalidInput(problem)
    if problem:
        raise SpeechUnavailable(problem)
    if not text.strip():
        raise BadRequest("没有听清，请靠近话筒再说一次")
    return text.strip()


async def _post_audio(url: str, audio: bytes) -> Tuple[str, int, str]:
    """(transcript, HTTP status, problem): a problem is a Chinese message for the citizen."""
    timeout = aiohttp.ClientTimeout(total=SPEECH_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(url, data=audio, headers={"Content-Type": "audio/wav"}) as resp:
                payload = await resp.json(content_type=None)
                if resp.status >= 400:
                    detail = (payload.get("error") or {}) if isinstance(payload, dict) else {}
                    log.warning("desk.chat.voice.rejected status=%d", resp.status)
                    return "", resp.status, str(detail.get("message") or "语音识别失败，请改用文字")
                return str(payload.get("text") or ""), resp.status, ""
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("desk.chat.voice.unavailable error=%s", type(exc).__name__)
        return "", 0, "语音识别暂时不可用，请改用文字"
