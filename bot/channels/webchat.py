"""Web chat channel for the H5 page desk serves at ``/chat``: ``/webhooks/webchat/ws``.

One websocket per open page. The page opens with ``{"type": "hello", "session", "since"}``;
the server answers ``{"type": "welcome", "session", "last_seq"}`` (a new session token when the
page had none or an invalid one) and replays every kept message after ``since``. Then:

- page -> server: ``{"type": "message", "id", "text", "voice"?}``, ``{"type": "image", "id",
  "url"}``, ``{"type": "ping"}``;
- server -> page: ``{"type": "ack", "id"}`` once a message is safely received,
  ``{"type": "typing", "on"}`` while the bot works, the conversation's messages
  (``{"type": "bot" | "user", "seq", "text", "buttons", "image", "from"}``), ``{"type":
  "error", "code", "message"}`` for a frame it refuses.

Every message for the citizen goes through the conversation's outbox (``webchat_store``)
before it is pushed, so a page that reconnects with the last ``seq`` it saw misses nothing,
and a message resent after a drop (same client ``id``) runs one turn only. Operator messages
pushed through Rasa's HTTP API (``output_channel=latest``) take the same path.

The session token is a secret the page keeps; Rasa's sender id is a digest of it, so the id
that operators and tickets see cannot be used to read the conversation.

Settings (credentials.yml): store (``in_memory`` or a ``redis://`` URL), allowed_origins
(comma-separated page origins, empty or ``*`` for any).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.exceptions import ConnectionClosed

from bot.channels.live_copy import with_live_copy
from bot.channels.media import picture_text
from bot.channels.silence import conversation_paused
from bot.channels.webchat_store import Subscription, WebChatStore, create_webchat_store

log = logging.getLogger(__name__)

MAX_FRAME_CHARS = 8_000
MAX_TEXT_CHARS = 1_000
MAX_URL_CHARS = 500
CLAIM_TTL_S = 24 * 3600
SESSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
BOT_FAILED = "抱歉，系统暂时繁忙，请稍后再发一次，或拨打12345热线。"
IDLE_POLL_S = 1.0

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class FrameRefused(Exception):
    """A page frame the channel does not accept; ``code`` and the Chinese ``message`` go back."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def sender_for(session: str) -> str:
    """Rasa's sender id for a session token (one-way, so the id cannot open the session)."""
    return "web-" + hashlib.sha256(session.encode("utf-8")).hexdigest()[:24]


def outgoing(message: Dict[Text, Any]) -> Dict[str, Any]:
    """The page's form of one bot message from Rasa (text, buttons, image; operator marked)."""
    raw_custom = message.get("custom")
    custom: Dict[str, Any] = raw_custom if isinstance(raw_custom, dict) else {}
    text = message.get("text") or (custom.get("text") if isinstance(custom.get("text"), str) else None)
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload") or b.get("title", ""))}
        for b in message.get("buttons") or message.get("quick_replies") or []
        if isinstance(b, dict) and b.get("title")
    ]
    frame: Dict[str, Any] = {"type": "bot", "from": "operator" if custom.get("operator") else "bot"}
    if custom.get("operator"):
        frame["operator"] = str(custom["operator"])
    if text:
        frame["text"] = str(text)
    if buttons:
        frame["buttons"] = buttons
    if message.get("image"):
        frame["image"] = str(message["image"])
    return frame


class WebChatOutput(OutputChannel):
    """Appends bot and operator messages to the conversation's outbox (pushed live from there)."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    def __init__(self, store: WebChatStore) -> None:
        self._store = store
        self.sent = 0

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        frame = outgoing(message)
        if frame.keys() - {"type", "from", "operator"}:
            await self._store.append(recipient_id, frame)
            self.sent += 1

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class WebChatInput(InputChannel):
    """Receives the web chat page's websocket (see the module docstring for the protocol)."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        settings = {k: "" if v is None else str(v).strip() for k, v in (credentials or {}).items()}
        try:
            store = create_webchat_store(settings.get("store"))
        except ValueError as exc:
            raise InvalidConfigException(f"Web chat channel: {exc}") from exc
        origins = [o.strip().rstrip("/") for o in settings.get("allowed_origins", "").split(",") if o.strip()]
        return cls(store=store, allowed_origins=[] if origins == ["*"] else origins)

    def __init__(self, store: Optional[WebChatStore] = None, allowed_origins: Optional[list] = None) -> None:
        self.store = store or create_webchat_store(None)
        self.allowed_origins = list(allowed_origins or [])
        self.output = WebChatOutput(self.store)

    def get_output_channel(self) -> OutputChannel:
        return self.output

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webchat = Blueprint("webchat_webhook")

        @webchat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webchat.websocket("/ws")
        async def socket(request: Request, ws: Any) -> None:
            origin = (request.headers.get("origin") or "").rstrip("/")
            if self.allowed_origins and origin not in self.allowed_origins:
                log.warning("webchat.connection.rejected reason=origin")
                await ws.close(code=4003, reason="origin not allowed")
                return
            agent = getattr(request.app.ctx, "agent", None)
            await Connection(self.store, ws, with_live_copy(on_new_message), self.name(), agent).serve()

        @webchat.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await self.store.close()

        return webchat


class Connection:
    """One open page: the hello handshake, the replay, live delivery and the citizen's turns."""

    def __init__(
        self, store: WebChatStore, ws: Any, on_new_message: OnNewMessage, channel: str, agent: Any = None
    ) -> None:
        self.store = store
        self.agent = agent
        self.ws = ws
        self.on_new_message = on_new_message
        self.channel = channel
        self.sender_id = ""
        self.sent_seq = 0
        self._send_lock = asyncio.Lock()
        # Turns run in a worker of their own, in order: a page that drops mid-turn (Sanic then
        # cancels this handler) must not cut the turn short, or the reply would be lost.
        self._turns: "asyncio.Queue[Optional[Tuple[str, Dict[str, Any]]]]" = asyncio.Queue()
        _keep(asyncio.create_task(self._run_turns()))

    async def serve(self) -> None:
        subscription: Optional[Subscription] = None
        pusher: Optional["asyncio.Task[None]"] = None
        try:
            since = await self._handshake()
            if since is None:
                return
            subscription = await self.store.subscribe(self.sender_id)
            for message in await self.store.since(self.sender_id, since):
                await self._deliver(message)
            await self._send({"type": "ready"})
            pusher = asyncio.create_task(self._push(subscription))
            await self._receive()
        except ConnectionClosed:
            pass
        finally:
            self._turns.put_nowait(None)  # the worker finishes accepted turns, then stops
            if pusher is not None:
                pusher.cancel()
            if subscription is not None:
                await subscription.close()
            log.info("webchat.connection.closed sender=%s", self.sender_id)

    async def _handshake(self) -> Optional[int]:
        try:
            hello = _decode(await self.ws.recv(timeout=30))
        except FrameRefused as exc:
            await self._send({"type": "error", "code": exc.code, "message": exc.message})
            return None
        if hello is None or hello.get("type") != "hello":
            await self._send({"type": "error", "code": "hello_expected", "message": "连接需要先发送 hello。"})
            return None
        session = hello.get("session")
        since = hello.get("since")
        if not isinstance(session, str) or not SESSION_PATTERN.match(session):
            session, since = secrets.token_urlsafe(24), 0
        since = since if isinstance(since, int) and since >= 0 else 0
        self.sender_id = sender_for(session)
        kept = await self.store.since(self.sender_id, 0)
        last_seq = kept[-1]["seq"] if kept else 0
        await self._send({"type": "welcome", "session": session, "last_seq": last_seq})
        log.info("webchat.connection.opened sender=%s since=%d", self.sender_id, since)
        self.sent_seq = since
        return since

    async def _push(self, subscription: Subscription) -> None:
        while True:
            message = await subscription.next(IDLE_POLL_S)
            if message is not None:
                await self._deliver(message)

    async def _deliver(self, message: Dict[str, Any]) -> None:
        async with self._send_lock:
            if message["seq"] <= self.sent_seq:  # replay and live delivery may overlap
                return
            self.sent_seq = message["seq"]
            await self.ws.send(json.dumps(message, ensure_ascii=False))

    async def _send(self, frame: Dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def _notify(self, frame: Dict[str, Any]) -> None:
        """Sends a transient frame (typing) if the page is still there; losing it is harmless."""
        try:
            await self._send(frame)
        except Exception:  # closed or closing socket
            pass

    async def _receive(self) -> None:
        while True:
            raw = await self.ws.recv()
            if raw is None:
                return
            try:
                frame = _decode(raw)
                if frame is None:
                    continue
                if frame.get("type") == "ping":
                    await self._send({"type": "pong"})
                    continue
                client_id, text, shown, metadata = _citizen_message(frame)
            except FrameRefused as exc:
                log.warning("webchat.frame.rejected reason=%s sender=%s", exc.code, self.sender_id)
                await self._send({"type": "error", "code": exc.code, "message": exc.message})
                continue
            # Shielded: once claimed, the message is kept and queued even if the page drops now.
            if await asyncio.shield(self._accept(client_id, text, shown, metadata)):
                await self._send({"type": "ack", "id": client_id})

    async def _accept(
        self, client_id: str, text: str, shown: Dict[str, Any], metadata: Dict[str, Any]
    ) -> bool:
        """Keeps the citizen's message and queues its turn; True when it may be acknowledged."""
        if not await self.store.claim(f"{self.sender_id}:{client_id}", CLAIM_TTL_S):
            log.info("webchat.message.duplicate sender=%s", self.sender_id)
            return True
        await self.store.append(self.sender_id, {"type": "user", "id": client_id, "from": "citizen", **shown})
        self._turns.put_nowait((text, {**metadata, "client_id": client_id}))
        return True

    async def _run_turns(self) -> None:
        while True:
            item = await self._turns.get()
            if item is None:
                return
            await self._turn(*item)

    async def _turn(self, text: str, metadata: Dict[str, Any]) -> None:
        """One bot turn; its replies reach the page through the outbox."""
        await self._notify({"type": "typing", "on": True})
        output = WebChatOutput(self.store)
        try:
            await self.on_new_message(
                UserMessage(
                    text,
                    output,
                    self.sender_id,
                    input_channel=self.channel,
                    message_id=metadata.pop("client_id"),
                    metadata={"webchat": metadata},
                )
            )
            if not output.sent and not await conversation_paused(self.agent, self.sender_id):
                log.warning("webchat.turn.silent sender=%s", self.sender_id)  # e.g. actions down
                await self.store.append(self.sender_id, {"type": "bot", "from": "bot", "text": BOT_FAILED})
        except Exception as exc:  # the citizen must hear something, and the message is kept
            log.error("webchat.turn.failed sender=%s error=%s", self.sender_id, type(exc).__name__)
            await self.store.append(self.sender_id, {"type": "bot", "from": "bot", "text": BOT_FAILED})
        finally:
            await self._notify({"type": "typing", "on": False})


_RUNNING: Set["asyncio.Task[None]"] = set()


def _keep(task: "asyncio.Task[None]") -> None:
    """Holds a reference to a background task until it ends (asyncio keeps only weak ones)."""
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


def _decode(raw: Any) -> Optional[Dict[str, Any]]:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raise FrameRefused("binary_frame", "请发送文字消息。")
    if len(raw) > MAX_FRAME_CHARS:
        raise FrameRefused("frame_too_large", "消息太长了，请分几次发送。")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameRefused("invalid_json", "消息格式不正确。") from None
    if not isinstance(frame, dict):
        raise FrameRefused("invalid_frame", "消息格式不正确。")
    return frame


def _citizen_message(frame: Dict[str, Any]) -> Tuple[str, str, Dict[str, Any], Dict[str, Any]]:
    """(client id, text for the bot, what the page shows, metadata) of a message or image frame.

    A quick-reply button sends its payload to the bot and shows its ``title``.
    """
    kind = frame.get("type")
    client_id = frame.get("id")
    if kind not in ("message", "image"):
        raise FrameRefused("unknown_type", "暂不支持这种消息。")
    if not isinstance(client_id, str) or not CLIENT_ID_PATTERN.match(client_id):
        raise FrameRefused("invalid_id", "消息缺少编号，请刷新页面后重试。")
    if kind == "image":
        url = frame.get("url")
        if (
            not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
            or len(url) > MAX_URL_CHARS
        ):
            raise FrameRefused("invalid_image", "图片地址不正确，请重新上传。")
        return client_id, picture_text(url), {"image": url}, {"type": "image", "url": url}
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FrameRefused("empty_text", "请输入内容后再发送。")
    if len(text) > MAX_TEXT_CHARS:
        raise FrameRefused("text_too_long", f"一条消息最多 {MAX_TEXT_CHARS} 字，请分几次发送。")
    title = frame.get("title")
    shown: Dict[str, Any] = {
        "text": title if isinstance(title, str) and 0 < len(title) <= 100 else text.strip()
    }
    if frame.get("voice"):
        shown["voice"] = True
    return client_id, text.strip(), shown, {"type": "voice" if frame.get("voice") else "text"}
