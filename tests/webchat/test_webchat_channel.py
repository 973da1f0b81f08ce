"""The web chat channel in a real Sanic server, with a page on a real websocket."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Tuple

import pytest
from rasa.shared.exceptions import InvalidConfigException

from bot.channels.webchat import WebChatInput, WebChatOutput, sender_for
from tests.webchat.conftest import open_page
from tests.wechat.wechat_harness import ChannelServer, FakeBot, FakeTrackerStore


@pytest.fixture
async def served() -> AsyncIterator[Tuple[ChannelServer, FakeBot]]:
    bot = FakeBot(answers=lambda text: [f"收到：{text}"])
    async with ChannelServer(WebChatInput(), bot) as server:
        yield server, bot


def _bot_texts(page) -> list:
    return [f.get("text") for f in page.of_type("bot")]


async def test_new_page_gets_a_session_and_a_reply(served) -> None:
    server, bot = served
    page = await open_page(server.base)
    welcome = page.of_type("welcome")[0]
    assert len(welcome["session"]) >= 20 and welcome["last_seq"] == 0
    await page.send({"type": "message", "id": "m1", "text": "楼下烧烤太吵"})
    await page.wait_for(lambda f: f.get("type") == "ack" and f["id"] == "m1")
    reply = await page.wait_for(lambda f: f.get("type") == "bot")
    assert reply["text"] == "收到：楼下烧烤太吵" and reply["from"] == "bot"
    await page.wait_for(lambda f: f.get("type") == "typing" and f["on"] is False)
    assert [m.text for m in bot.received] == ["楼下烧烤太吵"]
    assert bot.received[0].sender_id == sender_for(welcome["session"]) != welcome["session"]
    assert bot.received[0].input_channel == "webchat"
    echoed = page.of_type("user")[0]
    assert echoed["text"] == "楼下烧烤太吵" and echoed["seq"] < reply["seq"]
    await page.close()


async def test_reply_sent_while_offline_is_replayed_on_reconnect() -> None:
    bot = FakeBot(delay=0.5)
    async with ChannelServer(WebChatInput(), bot) as server:
        page = await open_page(server.base)
        session = page.of_type("welcome")[0]["session"]
        await page.send({"type": "message", "id": "m1", "text": "路灯坏了"})
        await page.wait_for(lambda f: f.get("type") == "ack")
        seen = max(f["seq"] for f in page.frames if "seq" in f)
        await page.close()  # the network drops before the bot answers
        await asyncio.sleep(0.8)
        again = await open_page(server.base, session=session, since=seen)
        assert again.of_type("welcome")[0]["session"] == session
        assert _bot_texts(again) == ["收到：路灯坏了"]
        assert again.of_type("user") == []  # already shown before the drop
        await again.close()


async def test_a_reloaded_page_gets_the_whole_history() -> None:
    async with ChannelServer(WebChatInput(), FakeBot()) as server:
        page = await open_page(server.base)
        session = page.of_type("welcome")[0]["session"]
        await page.send({"type": "message", "id": "m1", "text": "你好"})
        await page.wait_for(lambda f: f.get("type") == "bot")
        await page.close()
        reloaded = await open_page(server.base, session=session, since=0)
        assert [f["type"] for f in reloaded.frames if "seq" in f] == ["user", "bot"]
        await reloaded.close()


async def test_a_message_resent_after_a_drop_runs_one_turn(served) -> None:
    server, bot = served
    page = await open_page(server.base)
    session = page.of_type("welcome")[0]["session"]
    for _ in range(3):
        await page.send({"type": "message", "id": "same", "text": "井盖丢了"})
    await page.wait_for(lambda f: f.get("type") == "bot")
    await page.close()
    again = await open_page(server.base, session=session, since=0)
    await again.send({"type": "message", "id": "same", "text": "井盖丢了"})
    await again.wait_for(lambda f: f.get("type") == "ack")
    await asyncio.sleep(0.2)
    assert [m.text for m in bot.received] == ["井盖丢了"]
    assert len(again.of_type("bot")) == 1
    await again.close()


async def test_operator_messages_pushed_to_the_output_channel_reach_the_page(served) -> None:
    server, _ = served
    page = await open_page(server.base)
    sender = sender_for(page.of_type("welcome")[0]["session"])
    output = server.channel.get_output_channel()
    assert isinstance(output, WebChatOutput)
    await output.send_response(sender, {"text": "您好，我是人工客服", "custom": {"operator": "王敏"}})
    frame = await page.wait_for(lambda f: f.get("type") == "bot")
    assert (
        frame["from"] == "operator" and frame["operator"] == "王敏" and frame["text"] == "您好，我是人工客服"
    )
    await page.close()


async def test_buttons_show_their_title_and_send_their_payload(served) -> None:
    server, bot = served
    page = await open_page(server.base)
    await page.send({"type": "message", "id": "b1", "text": "确认提交", "title": "✅ 确认"})
    await page.wait_for(lambda f: f.get("type") == "bot")
    assert bot.received[0].text == "确认提交"
    assert page.of_type("user")[0]["text"] == "✅ 确认"
    await page.close()


async def test_image_frames_reach_the_bot_as_a_picture_reference(served) -> None:
    server, bot = served
    page = await open_page(server.base)
    await page.send({"type": "image", "id": "i1", "url": "http://desk.example/uploads/abc.jpg"})
    await page.wait_for(lambda f: f.get("type") == "bot")
    assert bot.received[0].text == "[图片] http://desk.example/uploads/abc.jpg"
    assert page.of_type("user")[0]["image"] == "http://desk.example/uploads/abc.jpg"
    await page.close()


@pytest.mark.parametrize(
    "frame, code",
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ({"type": "message", "id": "x1", "text": "  "}, "empty_text"),
        ({"type": "message", "id": "x1", "text": "长" * 1001}, "text_too_long"),
        ({"type": "message", "text": "没有编号"}, "invalid_id"),
        ({"type": "image", "id": "x1", "url": "javascript:alert(1)"}, "invalid_image"),
        ({"type": "video", "id": "x1"}, "unknown_type"),
        ("x" * 9000, "frame_too_large"),
    ],
)
async def test_bad_frames_get_a_clear_error_and_the_connection_stays(served, frame, code) -> None:
    server, bot = served
    page = await open_page(server.base)
    await page.send(frame)
    error = await page.wait_for(lambda f: f.get("type") == "error")
    assert error["code"] == code and error["message"]
    await page.send({"type": "message", "id": "ok1", "text": "还在吗"})
    await page.wait_for(lambda f: f.get("type") == "bot")
    assert [m.text for m in bot.received] == ["还在吗"]
    await page.close()


async def test_a_failing_bot_turn_still_answers_the_citizen() -> None:
    async with ChannelServer(WebChatInput(), FakeBot(error=RuntimeError("boom"))) as server:
        page = await open_page(server.base)
        await page.send({"type": "message", "id": "m1", "text": "你好"})
        reply = await page.wait_for(lambda f: f.get("type") == "bot")
        assert "繁忙" in reply["text"]
        await page.close()


async def test_invalid_session_tokens_get_a_fresh_session(served) -> None:
    server, _ = served
    page = await open_page(server.base, session="../../etc/passwd")
    assert page.of_type("welcome")[0]["session"] != "../../etc/passwd"
    await page.close()


async def test_origins_outside_the_allowed_list_are_refused() -> None:
    import websockets

    channel = WebChatInput(allowed_origins=["https://12345.example.gov.cn"])
    async with ChannelServer(channel, FakeBot()) as server:
        ws = await websockets.connect(
            f"ws://{server.base}/webhooks/webchat/ws", origin="https://evil.example"
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.code == 4003


def test_from_credentials_validates_the_store() -> None:
    with pytest.raises(InvalidConfigException, match="Web chat channel"):
        WebChatInput.from_credentials({"store": "mysql://x"})
    channel = WebChatInput.from_credentials({"store": "in_memory", "allowed_origins": "*"})
    assert isinstance(channel, WebChatInput) and channel.allowed_origins == []


@pytest.mark.parametrize("paused", [False, True])
async def test_a_silent_turn_gets_an_apology_unless_an_operator_holds_the_conversation(paused: bool) -> None:
    async with ChannelServer(WebChatInput(), FakeBot(answers=lambda text: [])) as server:
        server.app.ctx.agent.tracker_store = FakeTrackerStore(paused)
        page = await open_page(server.base)
        await page.send({"type": "message", "id": "m1", "text": "你好"})
        await page.wait_for(lambda f: f.get("type") == "typing" and f["on"] is False)
        await asyncio.sleep(0.1)
        apologies = [f for f in page.of_type("bot") if "繁忙" in f.get("text", "")]
        assert len(apologies) == (0 if paused else 1)
        await page.close()
