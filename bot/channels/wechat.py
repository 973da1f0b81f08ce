"""WeChat Official Account (公众号) channel: ``/webhooks/wechat/webhook``.

``WeChatInput`` verifies every callback before it parses it (signature with
``hmac.compare_digest``, a 5-minute replay window, a 64 KB body cap, a DTD-free ``defusedxml``
parse, then safe-mode decryption), lets wechatpy read the message, and runs one Rasa turn per
message however often WeChat retries it (see ``wechat_turns``). The reply goes back passively
when the bot answers within ~4 s, otherwise through the customer-service API
(``WeChatOutput``), which only writes to users seen within 48 h.

A turn's bot messages are joined with blank lines into one WeChat text (split only past
WeChat's 2 KB text limit, the overflow following by customer-service message): a passive
reply holds a single message, and one text keeps the answer whole and in order.

Settings (credentials.yml): token, appid, secret (required); aes_key (empty: plaintext mode;
set: safe mode, plaintext callbacks refused); api_base; store (``in_memory`` or a
``redis://`` URL); passive_timeout (s, default 4); template_id and template_field (the
template message for notices outside the 48 h window; empty: such notices are dropped);
speech_url (voice messages WeChat did not transcribe go to the speech service) and desk_url
(pictures are stored in desk so the ticket keeps them).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import replace
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple
from xml.parsers.expat import ExpatError

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message

from bot.channels import wechat_messages as texts
from bot.channels.live_copy import with_live_copy
from bot.channels.media import DeskUploads, SpeechClient, picture_text
from bot.channels.silence import conversation_paused
from bot.channels.wechat_api import DEFAULT_API_BASE, WINDOW_CLOSED, WeChatApiClient, WeChatApiError
from bot.channels.wechat_security import (
    SafeModeCipher,
    WeChatRejected,
    child_text,
    hashed,
    parse_xml,
    read_body,
    verify_signature,
    verify_timestamp,
)
from bot.channels.wechat_store import Clock, WeChatStore, create_wechat_store
from bot.channels.wechat_turns import TurnCoordinator

log = logging.getLogger(__name__)

CUSTOMER_SERVICE_WINDOW_S = 48 * 3600
TEMPLATE_TEXT_CHARS = 200  # template fields are short; the notice points back to the chat
MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW_S = 300
# Hook for the speech service (issue to come): (media_id, format) -> transcript or None.
VoiceTranscriber = Callable[[str, str], Awaitable[Optional[str]]]


class WeChatOutput(OutputChannel):
    """Sends to a WeChat user through the customer-service message API (text only).

    Writes customer-service messages only to users who wrote within the 48 h window. Outside
    it (or when WeChat says the window closed) the message goes out as a template message when
    the account has a template configured (``template_id``; the text fills ``template_field``),
    and is dropped with ``wechat.window.closed`` otherwise.
    """

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    def __init__(
        self,
        api: WeChatApiClient,
        store: WeChatStore,
        clock: Clock = time.time,
        template_id: str = "",
        template_field: str = "content",
    ) -> None:
        self._api = api
        self._store = store
        self._clock = clock
        self._template_id = template_id
        self._template_field = template_field

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self.send_texts(recipient_id, texts.pack(texts.bot_texts([message])))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_texts(recipient_id, texts.pack([text]))

    async def send_texts(self, openid: str, parts: List[str]) -> int:
        """Sends ``parts`` in order, stopping at the first failure; returns how many went out."""
        sender = hashed(openid)
        if not await self._window_open(openid):
            return await self._send_template(openid, parts)
        for sent, part in enumerate(parts):
            try:
                await self._api.send_text(openid, part)
            except WeChatApiError as exc:
                if exc.errcode == WINDOW_CLOSED:
                    return sent + await self._send_template(openid, parts[sent:])
                log.warning(
                    "wechat.send.failed sender=%s errcode=%d sent=%d of=%d",
                    sender,
                    exc.errcode,
                    sent,
                    len(parts),
                )
                return sent
        log.info("wechat.send.ok sender=%s parts=%d", sender, len(parts))
        return len(parts)

    async def _send_template(self, openid: str, parts: List[str]) -> int:
        """The notice as one template message; returns how many parts it carried (0 or all)."""
        sender = hashed(openid)
        if not self._template_id:
            log.warning("wechat.window.closed sender=%s parts=%d template=none", sender, len(parts))
            return 0
        text = "\n".join(parts)
        if len(text) > TEMPLATE_TEXT_CHARS:
            text = text[: TEMPLATE_TEXT_CHARS - 1] + "…"
        try:
            await self._api.send_template(openid, self._template_id, {self._template_field: {"value": text}})
        except WeChatApiError as exc:
            log.warning("wechat.template.failed sender=%s errcode=%d", sender, exc.errcode)
            return 0
        log.info("wechat.template.sent sender=%s parts=%d", sender, len(parts))
        return len(parts)

    async def _window_open(self, openid: str) -> bool:
        try:
            last = await self._store.last_seen(openid)
        except Exception as exc:  # unknown: let WeChat decide (it answers 45015 when closed)
            log.error("wechat.store.unavailable operation=last_seen error=%s", type(exc).__name__)
            return True
        return last is not None and self._clock() - last <= CUSTOMER_SERVICE_WINDOW_S


class TurnCollector(CollectingOutputChannel):
    """Collects a turn's replies for the passive answer; once the turn is over, whatever Rasa
    sends through it later (a reminder firing minutes afterwards) goes out through the
    customer-service API instead of into a list nobody reads."""

    def __init__(self, later: WeChatOutput) -> None:
        super().__init__()
        self._later = later
        self._closed = False

    def close(self) -> None:
        self._closed = True

    async def _persist_message(self, message: Dict[Text, Any]) -> None:
        if self._closed:
            await self._later.send_response(message["recipient_id"], message)
        else:
            await super()._persist_message(message)


class WeChatInput(InputChannel):
    """Receives WeChat Official Account callbacks (plaintext or safe mode)."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        settings = {k: "" if v is None else str(v).strip() for k, v in (credentials or {}).items()}
        missing = [k for k in ("token", "appid", "secret") if not settings.get(k)]
        if missing:
            raise InvalidConfigException(
                f"WeChat channel: {', '.join(missing)} missing in the credentials "
                "(WECHAT_TOKEN, WECHAT_APPID, WECHAT_SECRET)."
            )
        api_base = settings.get("api_base") or DEFAULT_API_BASE
        if not api_base.startswith(("http://", "https://")):
            raise InvalidConfigException(f"WeChat channel: api_base {api_base!r} is not an http(s) URL.")
        try:
            passive_timeout = float(settings.get("passive_timeout") or 4.0)
            store = create_wechat_store(settings.get("store"), namespace=settings["appid"])
            return cls(
                token=settings["token"],
                appid=settings["appid"],
                secret=settings["secret"],
                aes_key=settings.get("aes_key", ""),
                api_base=api_base,
                store=store,
                passive_timeout_s=passive_timeout,
                template_id=settings.get("template_id", ""),
                template_field=settings.get("template_field") or "content",
                speech_url=settings.get("speech_url", ""),
                desk_url=settings.get("desk_url", ""),
            )
        except ValueError as exc:
            raise InvalidConfigException(f"WeChat channel: {exc}") from exc

    def __init__(
        self,
        token: str,
        appid: str,
        secret: str,
        aes_key: str = "",
        api_base: str = DEFAULT_API_BASE,
        store: Optional[WeChatStore] = None,
        passive_timeout_s: float = 4.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_clock_skew_s: float = MAX_CLOCK_SKEW_S,
        clock: Clock = time.time,
        voice_transcriber: Optional[VoiceTranscriber] = None,
        template_id: str = "",
        template_field: str = "content",
        speech_url: str = "",
        desk_url: str = "",
    ) -> None:
        if not 0 < passive_timeout_s < 5:
            raise ValueError("passive_timeout must be between 0 and 5 s (WeChat waits 5 s)")
        self.token = token
        self.appid = appid
        self.store = store or create_wechat_store(None, namespace=appid)
        self.api = WeChatApiClient(appid, secret, self.store, api_base=api_base, clock=clock)
        self.cipher = SafeModeCipher(token, aes_key, appid) if aes_key else None
        self.max_body_bytes = max_body_bytes
        self.max_clock_skew_s = max_clock_skew_s
        self.clock = clock
        self.voice_transcriber = voice_transcriber or (
            self._speech_transcriber(speech_url) if speech_url else None
        )
        self.uploads = DeskUploads(desk_url) if desk_url else None
        self.output = WeChatOutput(self.api, self.store, clock, template_id, template_field)
        self.turns = TurnCoordinator(self.store, self._deliver, passive_timeout_s=passive_timeout_s)

    def get_output_channel(self) -> OutputChannel:
        return self.output

    def _speech_transcriber(self, speech_url: str) -> VoiceTranscriber:
        speech = SpeechClient(speech_url)

        async def transcribe(media_id: str, fmt: str) -> Optional[str]:
            audio = await self.api.download_media(media_id)
            return await speech.transcribe(audio)

        return transcribe

    async def _kept_image(self, inbound: texts.Inbound) -> texts.Inbound:
        """A picture stored in desk (WeChat's own link expires), or the message as it came."""
        media_id = inbound.metadata.get("media_id")
        if self.uploads is None or not media_id:
            return inbound
        try:
            image = await self.api.download_media(media_id)
        except WeChatApiError as exc:
            log.warning("wechat.image.download_failed errcode=%d", exc.errcode)
            return inbound
        url = await self.uploads.keep_image(image)
        if url is None:
            return inbound
        return replace(inbound, text_for_bot=picture_text(url), preface=(texts.IMAGE_KEPT,))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("wechat_webhook")
        on_new_message = with_live_copy(on_new_message)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            try:
                return response.text(self._echo(request))
            except WeChatRejected as exc:
                return self._rejected(exc, "verify")

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            arrived = asyncio.get_running_loop().time()
            try:
                xml, root, encrypted = await self._verified_message(request)
                message = parse_message(xml)
            except WeChatRejected as exc:
                return self._rejected(exc, "message")
            except (KeyError, TypeError, ValueError, ExpatError) as exc:
                return self._rejected(WeChatRejected(400, f"unparsable_{type(exc).__name__}"), "message")
            reply = await self._handle(root, message, on_new_message, arrived, request.app.ctx)
            if reply is None:
                return response.text("success")
            if encrypted and self.cipher is not None:
                reply = self.cipher.encrypt_reply(
                    reply, request.args.get("nonce", ""), str(int(self.clock()))
                )
            return response.text(reply, content_type="application/xml; charset=utf-8")

        @webhook.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await self.close()

        return webhook

    def _rejected(self, exc: WeChatRejected, what: str) -> HTTPResponse:
        log.warning("wechat.%s.rejected reason=%s status=%d", what, exc.reason, exc.status)
        return response.text("rejected", status=exc.status)

    def _echo(self, request: Request) -> str:
        """The server-address check: answer ``echostr`` (decrypted in safe mode) when signed."""
        args = request.args
        timestamp, nonce, echostr = args.get("timestamp", ""), args.get("nonce", ""), args.get("echostr", "")
        verify_timestamp(timestamp, self.clock(), self.max_clock_skew_s)
        if not echostr or len(echostr) > 1024:
            raise WeChatRejected(400, "echostr_invalid")
        if args.get("msg_signature") and self.cipher is not None:
            return self.cipher.decrypt(echostr, args.get("msg_signature"), timestamp, nonce).decode("utf-8")
        verify_signature((self.token, timestamp, nonce), args.get("signature"))
        log.info("wechat.verify.ok")
        return echostr

    async def _verified_message(self, request: Request) -> Tuple[bytes, Any, bool]:
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        verify_signature((self.token, timestamp, nonce), args.get("signature"))
        verify_timestamp(timestamp, self.clock(), self.max_clock_skew_s)
        encrypted = args.get("encrypt_type", "raw").lower() == "aes"
        if self.cipher is not None and not encrypted:
            raise WeChatRejected(403, "plaintext_in_safe_mode")
        if self.cipher is None and encrypted:
            raise WeChatRejected(400, "safe_mode_not_configured")
        body = await read_body(request, self.max_body_bytes)
        root = parse_xml(body)
        if self.cipher is not None:
            body = self.cipher.decrypt(
                child_text(root, "Encrypt"), args.get("msg_signature"), timestamp, nonce
            )
            root = parse_xml(body)
        if not child_text(root, "FromUserName") or not child_text(root, "MsgType"):
            raise WeChatRejected(400, "fields_missing")
        return body, root, encrypted

    async def _handle(
        self,
        root: Any,
        message: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        arrived: float,
        app_ctx: Any = None,
    ) -> Optional[str]:
        openid, account = child_text(root, "FromUserName"), child_text(root, "ToUserName")
        inbound = texts.interpret(
            message, child_text(root, "MsgType").lower(), child_text(root, "Event").lower()
        )
        key, msg_ref = _dedupe_key(root)
        log.info("wechat.message.received kind=%s msg=%s sender=%s", inbound.kind, msg_ref, hashed(openid))
        if inbound.text_for_bot is not None or inbound.reply:
            await self._touch(openid)

        async def produce() -> List[str]:
            return await self._run_turn(
                inbound, openid, msg_ref, on_new_message, getattr(app_ctx, "agent", None)
            )

        text = await self.turns.answer(key, openid, msg_ref, produce, arrived)
        return None if text is None else texts.reply_xml(openid, account, text)

    async def _run_turn(
        self,
        inbound: texts.Inbound,
        openid: str,
        msg_ref: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Any = None,
    ) -> List[str]:
        if inbound.kind == "image":
            inbound = await self._kept_image(inbound)
        text_for_bot = inbound.text_for_bot
        if text_for_bot is None and inbound.voice and self.voice_transcriber is not None:
            text_for_bot = await _transcribe(self.voice_transcriber, *inbound.voice)
        if text_for_bot is None:
            return list(inbound.reply)
        collector = TurnCollector(self.output)
        metadata = {"wechat": inbound.metadata}
        await on_new_message(
            UserMessage(
                text_for_bot,
                collector,
                openid,
                input_channel=self.name(),
                message_id=msg_ref,
                metadata=metadata,
            )
        )
        collector.close()  # from now on (reminders) messages go out through the API
        count = len(collector.messages)
        if count:
            log.info("wechat.turn.done msg=%s sender=%s messages=%d", msg_ref, hashed(openid), count)
        elif await conversation_paused(agent, openid):  # an operator holds it: silence is right
            log.info("wechat.turn.paused msg=%s sender=%s", msg_ref, hashed(openid))
        else:  # e.g. the action server is down: apologise rather than say nothing
            log.warning("wechat.turn.silent msg=%s sender=%s", msg_ref, hashed(openid))
            return list(inbound.preface) + [texts.BOT_FAILED]
        return list(inbound.preface) + texts.bot_texts(collector.messages)

    async def _touch(self, openid: str) -> None:
        try:
            await self.store.touch_user(openid, self.clock(), CUSTOMER_SERVICE_WINDOW_S)
        except Exception as exc:
            log.error("wechat.store.unavailable operation=touch_user error=%s", type(exc).__name__)

    async def _deliver(self, openid: str, parts: List[str]) -> None:
        await self.output.send_texts(openid, parts)

    async def close(self) -> None:
        """Finishes running turns and deliveries, then closes the API session and the store."""
        await self.turns.drain()
        await self.api.close()
        await self.store.close()


async def _transcribe(transcriber: VoiceTranscriber, media_id: str, fmt: str) -> Optional[str]:
    try:
        return (await transcriber(media_id, fmt) or "").strip() or None
    except Exception as exc:  # the speech service is optional: fall back to the polite answer
        log.warning("wechat.voice.transcription_failed error=%s", type(exc).__name__)
        return None


def _dedupe_key(root: Any) -> Tuple[str, str]:
    """(store key, log reference): the MsgId, or for events a digest of sender + CreateTime."""
    msg_id = child_text(root, "MsgId")
    if msg_id:
        return f"id:{msg_id}", msg_id
    parts = (child_text(root, "FromUserName"), child_text(root, "CreateTime"), child_text(root, "Event"))
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"event:{digest}", f"event-{digest[:12]}"
