"""Each WeChat message type, through the served channel, in plaintext and safe mode."""

from __future__ import annotations

from typing import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels import wechat_messages as texts
from bot.channels.wechat import WeChatInput
from tests.wechat.wechat_harness import (
    ACCOUNT,
    AES_KEY,
    OPENID,
    ChannelServer,
    FakeBot,
    FakeWeChatApi,
    decrypt_reply,
    encrypt_for_wechat,
    event_xml,
    image_xml,
    location_xml,
    reply_content,
    signed_params,
    text_xml,
    video_xml,
    voice_xml,
)


async def test_text_goes_to_rasa_and_the_answer_comes_back_passively(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        status, reply = await server.post(text_xml("小区门口烧烤摊占道经营", msg_id=42))
    assert status == 200
    assert f"<ToUserName><![CDATA[{OPENID}]]></ToUserName>" in reply
    assert f"<FromUserName><![CDATA[{ACCOUNT}]]></FromUserName>" in reply
    assert "<MsgType><![CDATA[text]]></MsgType>" in reply
    assert reply_content(reply) == "收到：小区门口烧烤摊占道经营"
    [message] = bot.received
    assert (message.text, message.sender_id, message.input_channel) == (
        "小区门口烧烤摊占道经营",
        OPENID,
        "wechat",
    )
    assert message.message_id == "42" and message.metadata == {"wechat": {"type": "text"}}
    assert fake_api.sent == []


async def test_safe_mode_decrypts_the_message_and_encrypts_the_reply(
    make_channel: Callable[..., WeChatInput],
) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(aes_key=AES_KEY), bot) as server:
        body, query = encrypt_for_wechat(text_xml("路灯坏了"), signed_params())
        status, reply = await server.post(body, params=query)
    assert status == 200 and "<Encrypt>" in reply and "路灯" not in reply
    assert reply_content(decrypt_reply(reply, query)) == "收到：路灯坏了"
    assert bot.texts == ["路灯坏了"]


async def test_voice_uses_wechat_recognition(make_channel: Callable[..., WeChatInput]) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        _, reply = await server.post(voice_xml("楼上装修太吵了。"))
    assert bot.texts == ["楼上装修太吵了。"]
    assert bot.received[0].metadata["wechat"]["recognised"] is True
    assert reply_content(reply) == "收到：楼上装修太吵了。"


async def test_voice_without_recognition_gets_a_polite_answer(
    make_channel: Callable[..., WeChatInput],
) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        _, reply = await server.post(voice_xml(None))
    assert bot.received == []
    assert reply_content(reply) == texts.VOICE_UNSUPPORTED


async def test_voice_goes_through_the_transcriber_hook_when_one_is_set(
    make_channel: Callable[..., WeChatInput],
) -> None:
    asked = []

    async def transcribe(media_id: str, fmt: str) -> str:
        asked.append((media_id, fmt))
        return "垃圾三天没人清运"

    bot = FakeBot()
    async with ChannelServer(make_channel(voice_transcriber=transcribe), bot) as server:
        _, reply = await server.post(voice_xml(None))
    assert asked == [("media-voice-1", "amr")]
    assert bot.texts == ["垃圾三天没人清运"]
    assert reply_content(reply) == "收到：垃圾三天没人清运"


async def test_location_reaches_rasa_as_a_sentence_the_form_can_use(
    make_channel: Callable[..., WeChatInput],
) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        await server.post(location_xml("示范市东城区幸福路88号"))
        await server.post(location_xml("", msg_id=3002))
    assert bot.texts == [
        "我的位置：示范市东城区幸福路88号（纬度23.134521，经度113.358803）",
        "我的位置：纬度23.134521，经度113.358803",
    ]
    assert bot.received[0].metadata["wechat"] == {
        "type": "location",
        "latitude": "23.134521",
        "longitude": "113.358803",
        "label": "示范市东城区幸福路88号",
    }


async def test_an_image_is_acknowledged_and_passed_on_as_text(
    make_channel: Callable[..., WeChatInput],
) -> None:
    bot = FakeBot()
    url = "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"
    async with ChannelServer(make_channel(), bot) as server:
        _, reply = await server.post(image_xml(url))
    assert bot.texts == [f"[图片] {url}"]
    assert bot.received[0].metadata["wechat"]["media_id"] == "media-img-1"
    assert reply_content(reply) == f"{texts.IMAGE_RECEIVED}\n\n收到：[图片] {url}"


async def test_subscribe_is_welcomed_without_a_bot_turn(make_channel: Callable[..., WeChatInput]) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        _, reply = await server.post(event_xml("subscribe"))
        assert await server.post(event_xml("unsubscribe", create_time=1_700_000_001)) == (200, "success")
    assert reply_content(reply) == texts.WELCOME
    assert "反映问题" in texts.WELCOME and "查工单" in texts.WELCOME and "转人工" in texts.WELCOME
    assert bot.received == []


@pytest.mark.parametrize(
    "body",
    [
        video_xml(),
        text_xml("x").replace(b"[text]", b"[link]"),
        text_xml("x").replace(b"[text]", b"[somethingnew]"),
        text_xml("x").replace(b"<MsgType><![CDATA[text]]></MsgType>", b"<MsgType>TEXT</MsgType>"),
    ],
    ids=["video", "link", "unknown-type", "upper-case-text"],
)
async def test_other_types_get_a_polite_answer_never_an_error(
    body: bytes, make_channel: Callable[..., WeChatInput]
) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        status, reply = await server.post(body)
    assert status == 200
    if b"TEXT" in body:  # wechatpy reads message types case-insensitively
        assert bot.texts == ["x"]
    else:
        assert reply_content(reply) == texts.UNSUPPORTED and bot.received == []


async def test_several_bot_messages_are_joined_into_one_passive_reply(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot = FakeBot(answers=lambda text: ["好的，已记录。", "请问具体在什么地方？"])
    async with ChannelServer(make_channel(), bot) as server:
        _, reply = await server.post(text_xml("噪音扰民"))
    assert reply_content(reply) == "好的，已记录。\n\n请问具体在什么地方？"
    assert fake_api.sent == []


async def test_an_answer_beyond_one_wechat_text_continues_by_customer_service(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    long_answer = "政策说明" * 300  # 3,600 bytes
    bot = FakeBot(answers=lambda text: [long_answer])
    channel = make_channel()
    async with ChannelServer(channel, bot) as server:
        _, reply = await server.post(text_xml("社保怎么交"))
    first = reply_content(reply)
    assert len(first.encode()) <= texts.MAX_TEXT_BYTES
    assert first + "".join(fake_api.texts_to()) == long_answer  # drained at server stop


async def test_a_failing_bot_gets_an_apology_not_an_error(make_channel: Callable[..., WeChatInput]) -> None:
    bot = FakeBot(error=RuntimeError("tracker store down"))
    async with ChannelServer(make_channel(), bot) as server:
        status, reply = await server.post(text_xml("你好"))
    assert status == 200 and reply_content(reply) == texts.BOT_FAILED


async def test_a_reply_cannot_break_out_of_its_cdata(make_channel: Callable[..., WeChatInput]) -> None:
    bot = FakeBot(answers=lambda text: ["a]]></Content><MsgType>news</MsgType><Content><![CDATA[b"])
    async with ChannelServer(make_channel(), bot) as server:
        _, reply = await server.post(text_xml("x"))
    from defusedxml.ElementTree import fromstring

    root = fromstring(reply)
    assert [n.text for n in root.iter("MsgType")] == ["text"]
    assert root.findtext("Content") == "a]]></Content><MsgType>news</MsgType><Content><![CDATA[b"


def test_bot_buttons_become_answers_to_type() -> None:
    message = {"text": "请选择", "buttons": [{"title": "是", "payload": "/affirm"}, {"title": "否"}]}
    assert texts.bot_texts([message, {"image": "http://x/y.png"}]) == [
        "请选择\n可直接回复：“是” / “否”",
        "图片：http://x/y.png",
    ]


async def test_odd_but_wellformed_messages_never_fail(make_channel: Callable[..., WeChatInput]) -> None:
    bot = FakeBot()
    nested = text_xml("x").replace(b"<Content><![CDATA[x]]></Content>", b"<Content><b>1</b></Content>")
    no_type = text_xml("x").replace(b"<MsgType><![CDATA[text]]></MsgType>", b"")
    async with ChannelServer(make_channel(), bot) as server:
        status, reply = await server.post(nested)
        assert status == 200 and reply_content(reply) == texts.EMPTY_TEXT
        assert (await server.post(event_xml("user_info_modified"))) == (200, "success")
        assert (await server.post(event_xml("CLICK", create_time=1_700_000_002)))[1] != "success"
        assert (await server.post(no_type))[0] == 400
    assert bot.received == []


class _Media:
    """A fake speech service and a fake desk upload endpoint, recording what they got."""

    def __init__(self, transcript: str = "垃圾三天没人清运", speech_status: int = 200) -> None:
        self.audio: list = []
        self.images: list = []
        self.transcript, self.speech_status = transcript, speech_status
        app = web.Application()
        app.router.add_post("/transcribe", self._transcribe)
        app.router.add_post("/api/chat/uploads", self._upload)
        self.server = TestServer(app)

    async def _transcribe(self, request: web.Request) -> web.Response:
        self.audio.append(await request.read())
        if self.speech_status >= 400:
            return web.json_response({"error": {"code": "corrupt", "message": "音频无法解析"}}, status=422)
        return web.json_response({"text": self.transcript, "duration_s": 1.0, "elapsed_s": 0.2})

    async def _upload(self, request: web.Request) -> web.Response:
        self.images.append(await request.read())
        return web.json_response({"url": "/uploads/kept-1.jpg"}, status=201)


async def test_voice_is_downloaded_and_transcribed_by_the_speech_service(
    make_channel: Callable[..., WeChatInput], fake_api
) -> None:
    media = _Media()
    await media.server.start_server()
    fake_api.media["media-voice-1"] = (b"#!AMR\n" + b"\x00" * 100, "audio/amr")
    bot = FakeBot()
    url = str(media.server.make_url("")).rstrip("/")
    async with ChannelServer(make_channel(speech_url=url), bot) as server:
        _, reply = await server.post(voice_xml(None))
    assert media.audio == [b"#!AMR\n" + b"\x00" * 100]
    assert bot.texts == ["垃圾三天没人清运"]
    assert reply_content(reply) == "收到：垃圾三天没人清运"
    await media.server.close()


async def test_voice_the_speech_service_refuses_gets_the_polite_answer(
    make_channel: Callable[..., WeChatInput], fake_api
) -> None:
    media = _Media(speech_status=422)
    await media.server.start_server()
    fake_api.media["media-voice-1"] = (b"garbage", "audio/amr")
    bot = FakeBot()
    async with ChannelServer(make_channel(speech_url=str(media.server.make_url(""))), bot) as server:
        _, reply = await server.post(voice_xml(None))
    assert bot.received == [] and reply_content(reply) == texts.VOICE_UNSUPPORTED
    await media.server.close()


async def test_a_picture_is_kept_in_desk_and_the_complaint_gets_desks_link(
    make_channel: Callable[..., WeChatInput], fake_api
) -> None:
    media = _Media()
    await media.server.start_server()
    fake_api.media["media-img-1"] = (b"\xff\xd8\xff" + b"\x00" * 50, "image/jpeg")
    desk = str(media.server.make_url("")).rstrip("/")
    bot = FakeBot()
    async with ChannelServer(make_channel(desk_url=desk), bot) as server:
        _, reply = await server.post(image_xml("http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"))
    assert media.images == [b"\xff\xd8\xff" + b"\x00" * 50]
    assert bot.texts == [f"[图片] {desk}/uploads/kept-1.jpg"]
    assert reply_content(reply).startswith(texts.IMAGE_KEPT)
    await media.server.close()
