"""What a WeChat message means for the bot, and how the bot's answers become WeChat text.

``interpret`` turns a parsed wechatpy message into an ``Inbound``: the text to hand to Rasa
(if any), replies the channel gives on its own (welcome, "not supported yet") and metadata for
the tracker. ``pack`` joins a turn's bot messages into as few WeChat texts as fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply

from bot.channels.media import LOCATION, picture_text

WELCOME = (
    "您好，欢迎关注12345政务服务便民热线！我是智能助手，可以帮您：\n"
    "1. 反映问题、投诉举报（如噪音扰民、占道经营、垃圾清运），我会登记并转给承办部门；\n"
    "2. 咨询政策和办事指南（如社保、公积金、户籍）；\n"
    "3. 查询办理进度：发送“查工单 工单编号”；\n"
    "4. 需要人工服务时，发送“转人工”。\n"
    "直接用文字告诉我您遇到的情况即可，也可以发送位置或现场照片。"
)
VOICE_UNSUPPORTED = "抱歉，暂时还不能识别语音消息，请用文字描述您要反映的问题或咨询的事项。"
IMAGE_RECEIVED = "已收到您的图片。图片暂时还不能附到工单里，请再用文字说明您要反映的情况和地点。"
IMAGE_KEPT = "已收到您的图片，会附在您反映的问题里。"
UNSUPPORTED = "抱歉，暂时只能处理文字、语音、图片和位置消息。请用文字描述您要反映的问题或咨询的事项。"
MENU_UNAVAILABLE = "该功能正在建设中。您可以直接用文字告诉我您要反映的问题或咨询的事项。"
EMPTY_TEXT = "您好，请问有什么可以帮您？请直接描述您要反映的问题或咨询的事项。"
BOT_FAILED = "抱歉，系统暂时繁忙，请稍后再发一次，或拨打12345热线。"

# WeChat truncates long texts; 2,048 bytes is the documented customer-service limit.
MAX_TEXT_BYTES = 2000
WELCOME_EVENTS = frozenset({"subscribe", "subscribe_scan"})


@dataclass(frozen=True)
class Inbound:
    """One citizen message as the channel will treat it.

    Attributes:
        kind: ``text``, ``voice``, ``image``, ``location``, ``event:<name>`` or
            ``unsupported:<type>``; for logs and metrics.
        text_for_bot: what Rasa receives, or None when there is no bot turn.
        preface: replies sent before the bot's answer (the image receipt).
        reply: replies when there is no bot turn; empty with no ``text_for_bot`` means silence.
        voice: ``(media_id, format)`` of a voice message WeChat did not transcribe, for a
            speech service to try before ``reply`` is used.
        metadata: stored on the Rasa ``UserMessage`` under ``wechat``.
    """

    kind: str
    text_for_bot: Optional[str] = None
    preface: Tuple[str, ...] = ()
    reply: Tuple[str, ...] = ()
    voice: Optional[Tuple[str, str]] = None
    metadata: Dict[str, Any] = field(default_factory=dict)


def interpret(message: BaseMessage, msg_type: str, event: str = "") -> Inbound:
    """What to do with a parsed WeChat message; never raises for an unknown type.

    Args:
        message: wechatpy's message object (its fields are read defensively).
        msg_type: the ``MsgType`` as sent, lower-cased (wechatpy maps unknown events and
            unknown messages to the same class, so the raw type decides).
        event: the ``Event`` as sent, lower-cased, for events.
    """
    if msg_type == "event":
        return _interpret_event(event)
    handler = _HANDLERS.get(msg_type)
    if handler is None:
        return Inbound(
            kind=f"unsupported:{msg_type[:32]}", reply=(UNSUPPORTED,), metadata={"type": msg_type[:32]}
        )
    return handler(message)


def _field(message: Any, name: str) -> str:
    """A field's text; anything else (a nested element, a missing field) reads as empty."""
    value = getattr(message, name, "")
    return value.strip() if isinstance(value, str) else ""


def _text(message: Any) -> Inbound:
    content = _field(message, "content")
    if not content:
        return Inbound(kind="text", reply=(EMPTY_TEXT,), metadata={"type": "text"})
    return Inbound(kind="text", text_for_bot=content, metadata={"type": "text"})


def _voice(message: Any) -> Inbound:
    recognition = _field(message, "recognition")
    media_id, fmt = _field(message, "media_id"), _field(message, "format")
    metadata = {"type": "voice", "media_id": media_id, "format": fmt}
    if recognition:
        return Inbound(kind="voice", text_for_bot=recognition, metadata={**metadata, "recognised": True})
    return Inbound(
        kind="voice",
        reply=(VOICE_UNSUPPORTED,),
        voice=(media_id, fmt),
        metadata={**metadata, "recognised": False},
    )


def _location(message: Any) -> Inbound:
    latitude, longitude = _field(message, "location_x"), _field(message, "location_y")
    label = _field(message, "label")
    where = f"纬度{latitude}，经度{longitude}"
    text = f"{LOCATION}{label}（{where}）" if label else f"{LOCATION}{where}"
    metadata = {"type": "location", "latitude": latitude, "longitude": longitude, "label": label}
    return Inbound(kind="location", text_for_bot=text, metadata=metadata)


def _image(message: Any) -> Inbound:
    url = _field(message, "image")
    metadata = {"type": "image", "pic_url": url, "media_id": _field(message, "media_id")}
    return Inbound(kind="image", text_for_bot=picture_text(url), preface=(IMAGE_RECEIVED,), metadata=metadata)


_HANDLERS = {"text": _text, "voice": _voice, "location": _location, "image": _image}


def _interpret_event(event: str) -> Inbound:
    name = event.lower()[:32]
    if name in WELCOME_EVENTS:
        return Inbound(kind=f"event:{name}", reply=(WELCOME,), metadata={"type": "event", "event": name})
    if name == "click":
        return Inbound(
            kind="event:click", reply=(MENU_UNAVAILABLE,), metadata={"type": "event", "event": name}
        )
    # unsubscribe, LOCATION reports, VIEW, job-finished notices: nothing to say to anyone.
    return Inbound(kind=f"event:{name or 'unknown'}", metadata={"type": "event", "event": name})


def bot_texts(messages: Iterable[Dict[str, Any]]) -> List[str]:
    """Texts for the bot messages a ``CollectingOutputChannel`` gathered in one turn.

    WeChat text replies carry no buttons: their titles are listed as answers to type (the
    bot's button payloads are the same plain words); image URLs are sent as links.
    """
    texts: List[str] = []
    for message in messages:
        parts = [str(message["text"])] if message.get("text") else []
        buttons = message.get("buttons") or []
        titles = [str(b["title"]) for b in buttons if b.get("title")]
        if titles:  # the payloads are plain Chinese the NLU understands, so the title is what to type
            parts.append("可直接回复：" + " / ".join(f"“{t}”" for t in titles))
        if message.get("image"):
            parts.append(f"图片：{message['image']}")
        if message.get("attachment"):
            parts.append(str(message["attachment"]))
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("text"), str):
            parts.append(custom["text"])
        if parts:
            texts.append("\n".join(parts))
    return texts


def pack(texts: Iterable[str], limit: int = MAX_TEXT_BYTES) -> List[str]:
    """Joins texts with blank lines into as few WeChat messages of at most ``limit`` bytes."""
    packed: List[str] = []
    for text in (t.strip() for t in texts):
        for piece in _split(text, limit):
            if packed and _size(packed[-1]) + 2 + _size(piece) <= limit:
                packed[-1] = f"{packed[-1]}\n\n{piece}"
            else:
                packed.append(piece)
    return packed


def _split(text: str, limit: int) -> List[str]:
    pieces: List[str] = []
    current: List[str] = []
    size = 0
    for char in text:
        width = _size(char)
        if current and size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    return pieces + ["".join(current)] if current else pieces


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def reply_xml(to_user: str, from_account: str, text: str) -> str:
    """A passive text reply; ``]]>`` in the text cannot end wechatpy's CDATA section early."""
    safe = text.replace("]]>", "]]]]><![CDATA[>")
    return TextReply(source=from_account, target=to_user, content=safe, time=int(time.time())).render()
