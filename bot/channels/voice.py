"""Voice channel: phone calls and recordings, transcribed by the speech service.

``/webhooks/voice/webhook`` takes what the speech service heard on a call (its streaming
endpoint posts one final transcript per utterance: ``{"sender", "message", "metadata"?}``)
and answers with the bot's replies, as Rasa's REST channel does; the speech service speaks
them back to the caller. ``/webhooks/voice/audio?sender=`` takes a recording (WAV, MP3, AMR,
SILK; the body), has it transcribed, runs the turn and answers ``{"transcript", "replies"}``.

Every message is marked as voice in the tracker (``input_channel`` "voice", metadata
``{"voice": {"type": "voice"}}``), so operators see it was transcribed.

Settings (credentials.yml): speech_url (the speech service; needed for ``/audio``).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.live_copy import with_live_copy
from bot.channels.media import SpeechClient

log = logging.getLogger(__name__)
MAX_AUDIO_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 2000


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


class VoiceInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        settings = {k: "" if v is None else str(v).strip() for k, v in (credentials or {}).items()}
        return cls(speech_url=settings.get("speech_url", ""))

    def __init__(self, speech_url: str = "") -> None:
        self.speech = SpeechClient(speech_url) if speech_url else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        voice = Blueprint("voice_webhook")
        handle = with_live_copy(on_new_message)

        @voice.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "speech": self.speech is not None})

        @voice.route("/webhook", methods=["POST"])
        async def utterance(request: Request) -> HTTPResponse:
            body = request.json if request.content_type.startswith("application/json") else None
            if not isinstance(body, dict):
                return _error(400, "invalid_json", "请求体必须是 JSON 对象")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return _error(422, "invalid_fields", "需要 sender 和 message")
            if len(text) > MAX_TEXT_CHARS:
                return _error(413, "too_long", "转写文本过长")
            replies = await self._turn(handle, sender, text, body.get("metadata"))
            return response.json(replies)

        @voice.route("/audio", methods=["POST"])
        async def recording(request: Request) -> HTTPResponse:
            sender = request.args.get("sender", "")
            if not sender:
                return _error(422, "sender_missing", "需要 sender 参数")
            if self.speech is None:
                return _error(503, "speech_unavailable", "语音识别暂未开通")
            audio = request.body or b""
            if not audio:
                return _error(400, "empty_audio", "没有收到音频")
            if len(audio) > MAX_AUDIO_BYTES:
                return _error(413, "too_large", "音频太大")
            transcript = await self.speech.transcribe(audio)
            if not transcript:
                return _error(422, "not_understood", "没有听清，请再说一次")
            replies = await self._turn(handle, sender, transcript, {"source": "recording"})
            return response.json({"transcript": transcript, "replies": replies})

        return voice

    async def _turn(
        self, handle: Callable[[UserMessage], Awaitable[Any]], sender: str, text: str, extra: Any
    ) -> list:
        collector = CollectingOutputChannel()
        metadata = {"voice": {"type": "voice", **(extra if isinstance(extra, dict) else {})}}
        await handle(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
        return collector.messages
