"""What channels do with a citizen's voice and pictures: transcribe and keep them.

``SpeechClient`` sends audio to the speech service (``POST {SPEECH_URL}/transcribe``, the
format is recognised from the bytes: WAV, MP3, AMR, SILK); ``DeskUploads`` stores a picture in
desk (``POST {DESK_URL}/api/chat/uploads``) so the ticket keeps it after the channel's own
link expires. Both fail soft: a channel falls back to a polite answer or the original link.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

import aiohttp

log = logging.getLogger(__name__)
# How a picture and a shared location reach the bot as text: bot/nlu.py classifies messages
# by these prefixes, and the action server (actions/forms.py, another image) reads the same.
PICTURE = "[图片]"
LOCATION = "我的位置："


def picture_text(url: str) -> str:
    """The message that passes a picture to the bot: "[图片] <url>"."""
    return f"{PICTURE} {url}".strip()


class SpeechClient:
    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        self.url = base_url.rstrip("/") + "/transcribe"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def transcribe(self, audio: bytes) -> Optional[str]:
        """The transcript, or None when the service refused the audio or is unavailable."""
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.post(
                    self.url, data=audio, headers={"Content-Type": "application/octet-stream"}
                ) as response:
                    body = await response.json(content_type=None)
                    if response.status >= 400 or not isinstance(body, dict):
                        log.warning("media.speech.refused status=%d", response.status)
                        return None
                    return str(body.get("text") or "").strip() or None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("media.speech.unavailable error=%s", type(exc).__name__)
            return None


class DeskUploads:
    def __init__(self, desk_url: str, timeout_s: float = 10.0) -> None:
        self.base = desk_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def keep_image(self, image: bytes) -> Optional[str]:
        """desk's lasting URL for the picture, or None when desk refused or is unavailable."""
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.post(
                    self.base + "/api/chat/uploads",
                    data=image,
                    headers={"Content-Type": "application/octet-stream"},
                ) as response:
                    body = await response.json(content_type=None)
                    if response.status >= 400 or not isinstance(body, dict) or not body.get("url"):
                        log.warning("media.upload.refused status=%d", response.status)
                        return None
                    return self.base + str(body["url"])
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("media.upload.unavailable error=%s", type(exc).__name__)
            return None
