"""Websocket streaming for phone calls: PCM frames in, one final transcript per utterance.

Protocol (``GET /stream?rate=8000&sender=<id>``):

* client -> server: binary messages of 16-bit little-endian mono PCM at ``rate``
  (8000 or 16000), any size; a text message ``{"type": "stop"}`` ends the call.
* server -> client: ``{"type": "ready", "rate": 8000}`` first, then
  ``{"type": "final", "text", "start_s", "end_s", "elapsed_s"}`` per utterance. With
  ``SPEECH_RASA_URL`` set, each transcript is sent to Rasa's voice channel
  (``SPEECH_RASA_WEBHOOK``, default ``/webhooks/voice/webhook``; the REST channel works too) and the bot's
  replies come back as ``{"type": "bot", "text"}``, each followed (``SPEECH_REPLY_TTS``)
  by ``{"type": "audio", "rate", "bytes"}`` and one binary message of PCM at ``rate``.
  ``{"type": "error", "code", "message"}`` reports a problem; the socket then closes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from . import tts
from .app import ENGINE, SETTINGS, Engine
from .audio import Audio, to_model_rate, to_pcm16
from .errors import BadParameter, NotReady, SpeechError
from .vad import Endpointer, Segment

logger = logging.getLogger(__name__)

STREAM_RATES = (8000, 16000)


@dataclass
class CallSession:
    """One phone call on one websocket."""

    ws: web.WebSocketResponse
    engine: Engine
    rate: int
    sender: str
    rasa_url: str | None
    reply_tts: bool
    rasa_webhook: str = "/webhooks/voice/webhook"

    async def handle_utterance(self, segment: Segment) -> None:
        started = time.perf_counter()
        samples = to_model_rate(Audio(segment.samples, self.rate)).samples
        text = await self.engine.run(samples)
        await self.ws.send_json({
            "type": "final", "text": text, "start_s": round(segment.start_s, 2),
            "end_s": round(segment.end_s, 2),
            "elapsed_s": round(time.perf_counter() - started, 3),
        })
        if text and self.rasa_url:
            await self.forward_to_rasa(text)

    async def forward_to_rasa(self, text: str) -> None:
        if not self.rasa_url:
            return
        url = f"{self.rasa_url.rstrip('/')}{self.rasa_webhook}"
        timeout = aiohttp.ClientTimeout(total=30)
        try:
            body = {"sender": self.sender, "message": text, "metadata": {"source": "call"}}
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.post(url, json=body) as r:
                    r.raise_for_status()
                    replies = await r.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            logger.warning("speech.stream.rasa_failed reason=%s", type(exc).__name__)
            await self.ws.send_json({"type": "error", "code": "bot_unavailable",
                                     "message": "对话服务暂时不可用"})
            return
        for reply in replies if isinstance(replies, list) else []:
            if reply.get("text"):
                await self.send_reply(reply["text"])

    async def send_reply(self, text: str) -> None:
        await self.ws.send_json({"type": "bot", "text": text})
        if not (self.reply_tts and tts.available()):
            return
        loop = asyncio.get_running_loop()
        samples = await loop.run_in_executor(None, tts.synthesize, text, self.rate)
        pcm = to_pcm16(samples)
        await self.ws.send_json({"type": "audio", "rate": self.rate, "bytes": len(pcm)})
        await self.ws.send_bytes(pcm)


def _stream_rate(request: web.Request) -> int:
    try:
        rate = int(request.query.get("rate", "8000"))
    except ValueError as exc:
        raise BadParameter("rate 参数必须是 8000 或 16000") from exc
    if rate not in STREAM_RATES:
        raise BadParameter("rate 参数必须是 8000 或 16000")
    return rate


async def stream_handler(request: web.Request) -> web.WebSocketResponse:
    engine = request.app.get(ENGINE)
    if engine is None:
        raise NotReady()
    settings = request.app[SETTINGS]
    rate = _stream_rate(request)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=1 << 20)
    await ws.prepare(request)
    sender = request.query.get("sender") or f"voice-{id(ws):x}"
    session = CallSession(ws, engine, rate, sender,
                          str(settings.rasa_url) if settings.rasa_url else None,
                          settings.reply_tts, settings.rasa_webhook)
    endpointer = Endpointer(rate, settings.vad_aggressiveness, settings.endpoint_silence_ms,
                            settings.max_utterance_s)
    queue: asyncio.Queue[Segment | None] = asyncio.Queue()
    worker = asyncio.create_task(_consume(session, queue))
    sender_hash = hashlib.sha256(sender.encode()).hexdigest()[:12]
    logger.info("speech.stream.opened sender=%s rate=%d", sender_hash, rate)
    await ws.send_json({"type": "ready", "rate": rate})
    try:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                for segment in endpointer.feed(msg.data):
                    queue.put_nowait(segment)
            elif msg.type == aiohttp.WSMsgType.TEXT and _is_stop(msg.data):
                break
    finally:
        last = endpointer.flush()
        if last is not None:
            queue.put_nowait(last)
        queue.put_nowait(None)
        await worker
        await ws.close()
        logger.info("speech.stream.closed sender=%s", sender_hash)
    return ws


def _is_stop(data: str) -> bool:
    try:
        return json.loads(data).get("type") == "stop"
    except (ValueError, AttributeError):
        return False


async def _consume(session: CallSession, queue: asyncio.Queue[Segment | None]) -> None:
    """Transcribes utterances in order, so transcripts come back in speaking order."""
    while (segment := await queue.get()) is not None:
        if session.ws.closed:
            continue
        try:
            await session.handle_utterance(segment)
        except SpeechError as exc:
            await session.ws.send_json({"type": "error", "code": exc.code,
                                        "message": exc.message})

