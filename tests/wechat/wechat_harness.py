"""Test doubles for the WeChat channel: raw signed XML, a fake WeChat API, a served channel.

Only the outer HTTP boundary is faked: the channel runs in a real Sanic server, registered by
Rasa's own ``register`` (as ``rasa run`` does), on loopback; the fake WeChat API is an aiohttp
server on loopback. XML is built the way WeChat sends it and signed/encrypted with wechatpy.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import aiohttp
from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat_security import signature_of

TOKEN = "rexianTestToken42"
APPID = "wx5823bf96d3bd56c7"
SECRET = "test-app-secret-0123456789abcdef"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
ACCOUNT = "gh_rexian12345"
OPENID = "oRexianCitizen0000000000001"

# Several Sanic apps start in one test process: test mode lets Sanic's start-up rewriting of
# its HTTP class run again for each (it fails on the second app otherwise).
Sanic.test_mode = True

# ------------------------------------------------------------------ raw WeChat XML


def _xml(openid: str, msg_type: str, fields: str, create_time: Optional[int] = None) -> bytes:
    created = create_time if create_time is not None else int(time.time())
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{fields}</xml>"
    ).encode("utf-8")


def text_xml(content: str, msg_id: int = 1001, openid: str = OPENID) -> bytes:
    return _xml(openid, "text", f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>")


def voice_xml(recognition: Optional[str], msg_id: int = 2001, openid: str = OPENID) -> bytes:
    fields = "<MediaId><![CDATA[media-voice-1]]></MediaId><Format><![CDATA[amr]]></Format>"
    if recognition is not None:
        fields += f"<Recognition><![CDATA[{recognition}]]></Recognition>"
    return _xml(openid, "voice", fields + f"<MsgId>{msg_id}</MsgId>")


def location_xml(label: str, lat: str = "23.134521", lng: str = "113.358803", msg_id: int = 3001) -> bytes:
    fields = (
        f"<Location_X>{lat}</Location_X><Location_Y>{lng}</Location_Y><Scale>20</Scale>"
        f"<Label><![CDATA[{label}]]></Label><MsgId>{msg_id}</MsgId>"
    )
    return _xml(OPENID, "location", fields)


def image_xml(pic_url: str, msg_id: int = 4001) -> bytes:
    fields = f"<PicUrl><![CDATA[{pic_url}]]></PicUrl><MediaId><![CDATA[media-img-1]]></MediaId>"
    return _xml(OPENID, "image", fields + f"<MsgId>{msg_id}</MsgId>")


def event_xml(event: str, create_time: int = 1_700_000_000, openid: str = OPENID) -> bytes:
    return _xml(
        openid, "event", f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey>", create_time
    )


def video_xml(msg_id: int = 5001) -> bytes:
    fields = "<MediaId><![CDATA[m1]]></MediaId><ThumbMediaId><![CDATA[t1]]></ThumbMediaId>"
    return _xml(OPENID, "video", fields + f"<MsgId>{msg_id}</MsgId>")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>oAttacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>9</MsgId></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>oAttacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>10</MsgId></xml>"""


def signed_params(token: str = TOKEN, timestamp: Optional[int] = None, nonce: str = "") -> Dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:10]
    return {"timestamp": stamp, "nonce": nonce, "signature": signature_of(token, stamp, nonce)}


def encrypt_for_wechat(
    xml: bytes, params: Dict[str, str], aes_key: str = AES_KEY, appid: str = APPID
) -> Tuple[bytes, Dict[str, str]]:
    """The safe-mode body and query WeChat sends for ``xml`` (wechatpy's crypto)."""
    crypto = WeChatCrypto(TOKEN, aes_key, appid)
    envelope = crypto.encrypt_message(xml.decode("utf-8"), params["nonce"], params["timestamp"])
    ciphertext = envelope.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    )
    query = dict(
        params,
        encrypt_type="aes",
        msg_signature=signature_of(TOKEN, params["timestamp"], params["nonce"], ciphertext),
    )
    return body.encode("utf-8"), query


def decrypt_reply(reply: str, params: Dict[str, str]) -> str:
    """Decrypts a safe-mode passive reply, checking its signature, as WeChat would."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    stamp = reply.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
    nonce = reply.split("<Nonce><![CDATA[")[1].split("]]></Nonce>")[0]
    signature = reply.split("<MsgSignature><![CDATA[")[1].split("]]></MsgSignature>")[0]
    return crypto.decrypt_message(reply, signature, stamp, nonce)


def reply_content(xml: str) -> str:
    return xml.split("<Content><![CDATA[", 1)[1].rsplit("]]></Content>", 1)[0]


# ------------------------------------------------------------------ the fake WeChat API


@dataclass
class FakeWeChatApi:
    """``/cgi-bin/token`` and the customer-service and template send APIs on loopback, recording calls."""

    expires_in: int = 7200
    send_errcode: int = 0
    token_requests: int = 0
    valid_tokens: List[str] = field(default_factory=list)
    sent: List[Dict[str, Any]] = field(default_factory=list)
    media: Dict[str, Tuple[bytes, str]] = field(default_factory=dict)  # media_id -> (bytes, type)
    url: str = ""
    _runner: Optional[web.AppRunner] = None

    async def start(self) -> "FakeWeChatApi":
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/message/template/send", self._send)
        app.router.add_get("/cgi-bin/media/get", self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def texts_to(self, openid: str = OPENID) -> List[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == openid and "text" in m]

    def templates_to(self, openid: str = OPENID) -> List[Dict[str, Any]]:
        return [m for m in self.sent if m["touser"] == openid and "template_id" in m]

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        query = request.query
        if query.get("grant_type") != "client_credential" or query.get("appid") != APPID:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        if query.get("secret") != SECRET:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = f"ACCESS_TOKEN_{self.token_requests}_{uuid.uuid4().hex[:6]}"
        self.valid_tokens.append(token)
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    async def _media(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=found[0], content_type=found[1])

    async def _send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.send_errcode:
            return web.json_response({"errcode": self.send_errcode, "errmsg": "refused"})
        self.sent.append(json.loads(await request.text()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


# ------------------------------------------------------------------ a fake bot and the server


@dataclass
class FakeBot:
    """Stands in for Rasa's agent: records each message, answers after ``delay`` seconds."""

    delay: float = 0.0
    answers: Callable[[str], List[str]] = lambda text: [f"收到：{text}"]
    error: Optional[Exception] = None
    received: List[UserMessage] = field(default_factory=list)

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        for answer in self.answers(message.text or ""):
            await message.output_channel.send_text_message(message.sender_id, answer)

    @property
    def texts(self) -> List[str]:
        return [m.text or "" for m in self.received]


class FakeTracker:
    def __init__(self, paused: bool) -> None:
        self._paused = paused

    def is_paused(self) -> bool:
        return self._paused


class FakeTrackerStore:
    """Rasa's tracker store as the channels ask it: is the conversation paused?"""

    def __init__(self, paused: bool) -> None:
        self.paused = paused

    async def retrieve(self, sender_id: str) -> FakeTracker:
        return FakeTracker(self.paused)


class _FakeAgent:
    def __init__(self, handler: Callable[[UserMessage], Awaitable[Any]]) -> None:
        self.handle_message = handler


class ChannelServer:
    """The channel inside a real Sanic server on loopback, mounted by ``rasa`` at /webhooks/."""

    def __init__(self, channel: InputChannel, bot: Callable[[UserMessage], Awaitable[Any]]) -> None:
        self.channel = channel
        self.app = Sanic(f"wechat_test_{uuid.uuid4().hex}", configure_logging=False)
        self.app.ctx.agent = _FakeAgent(bot)
        register([channel], self.app, route="/webhooks/")
        self._server: Any = None
        self.url = ""
        self.base = ""

    async def __aenter__(self) -> "ChannelServer":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        # create_server() already listens; it takes no port 0, hence the bound socket.
        server = await self.app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        if server is None:
            raise RuntimeError("Sanic returned no server")
        await server.startup()
        await server.before_start()
        await server.after_start()
        self._server = server
        self.base = f"127.0.0.1:{sock.getsockname()[1]}"
        self.url = f"http://{self.base}/webhooks/{self.channel.name()}/webhook"
        return self

    async def __aexit__(self, *_: Any) -> None:
        server = self._server
        await server.before_stop()
        for connection in list(server.connections):
            connection.close_if_idle()
        server.close()
        await server.wait_closed()
        await server.after_stop()  # the channel's after_server_stop: drains turns, closes store

    async def post(
        self, body: bytes, params: Optional[Dict[str, str]] = None, timeout: float = 30.0, **headers: str
    ) -> Tuple[int, str]:
        query = params if params is not None else signed_params()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.post(self.url, params=query, data=body, headers=headers or None) as response:
                return response.status, await response.text()

    async def get(self, params: Dict[str, str]) -> Tuple[int, str]:
        async with aiohttp.ClientSession() as session:
            async with session.get(self.url, params=params) as response:
                return response.status, await response.text()
