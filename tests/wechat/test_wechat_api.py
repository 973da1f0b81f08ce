"""The access token (cached, shared, refreshed) and customer-service messages (48 h window)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, List

import pytest

from bot.channels.wechat import WeChatInput, WeChatOutput
from bot.channels.wechat_api import WINDOW_CLOSED, WeChatApiClient, WeChatApiError
from bot.channels.wechat_store import InMemoryWeChatStore, WeChatStore
from tests.wechat.wechat_harness import (
    APPID,
    OPENID,
    SECRET,
    ChannelServer,
    FakeBot,
    FakeWeChatApi,
    signed_params,
    text_xml,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _client(
    fake_api: FakeWeChatApi, store: WeChatStore, clock: Callable[[], float] = time.time
) -> WeChatApiClient:
    return WeChatApiClient(APPID, SECRET, store, api_base=fake_api.url, clock=clock)


async def test_the_token_is_fetched_once_and_reused(store: WeChatStore, fake_api: FakeWeChatApi) -> None:
    client = _client(fake_api, store)
    try:
        await client.send_text(OPENID, "一")
        await client.send_text(OPENID, "二")
    finally:
        await client.close()
    assert fake_api.token_requests == 1
    assert fake_api.texts_to() == ["一", "二"]


async def test_the_token_is_refreshed_before_it_expires(fake_api: FakeWeChatApi) -> None:
    clock = FakeClock()
    client = _client(fake_api, InMemoryWeChatStore(clock=clock), clock)
    try:
        first = await client.access_token()
        clock.now += 7200 - 301  # still 301 s left: the 300 s margin keeps it
        assert await client.access_token() == first
        clock.now += 2  # inside the margin: refresh, while WeChat still accepts the old one
        second = await client.access_token()
    finally:
        await client.close()
    assert second != first and fake_api.token_requests == 2


async def test_concurrent_callers_share_one_refresh(store: WeChatStore, fake_api: FakeWeChatApi) -> None:
    clients = [_client(fake_api, store) for _ in range(3)]  # three replicas, one store
    try:
        tokens = await asyncio.gather(*(clients[i % 3].access_token() for i in range(30)))
    finally:
        for client in clients:
            await client.close()
    assert len(set(tokens)) == 1
    assert fake_api.token_requests == 1


async def test_a_rejected_token_is_dropped_and_fetched_again(
    store: WeChatStore, fake_api: FakeWeChatApi
) -> None:
    client = _client(fake_api, store)
    try:
        await client.send_text(OPENID, "一")
        fake_api.revoke_tokens()  # e.g. someone fetched a token elsewhere with the same secret
        await client.send_text(OPENID, "二")
    finally:
        await client.close()
    assert fake_api.token_requests == 2
    assert fake_api.texts_to() == ["一", "二"]


async def test_a_wrong_secret_is_an_api_error(fake_api: FakeWeChatApi) -> None:
    client = WeChatApiClient(APPID, "wrong-secret", InMemoryWeChatStore(), api_base=fake_api.url)
    try:
        with pytest.raises(WeChatApiError) as raised:
            await client.send_text(OPENID, "一")
    finally:
        await client.close()
    assert raised.value.errcode == 40125 and "wrong-secret" not in str(raised.value)


async def test_an_unreachable_api_is_an_api_error() -> None:
    client = WeChatApiClient(APPID, SECRET, InMemoryWeChatStore(), api_base="http://127.0.0.1:9", timeout_s=2)
    try:
        with pytest.raises(WeChatApiError):
            await client.access_token()
    finally:
        await client.close()


async def test_no_customer_service_message_outside_the_48_hour_window(
    fake_api: FakeWeChatApi, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    store = InMemoryWeChatStore(clock=clock)
    output = WeChatOutput(_client(fake_api, store, clock), store, clock)
    caplog.set_level(logging.INFO, logger="bot.channels")
    assert await output.send_texts(OPENID, ["从未来过"]) == 0
    await store.touch_user(OPENID, clock.now - 49 * 3600, ttl_s=72 * 3600)
    assert await output.send_texts(OPENID, ["两天前"]) == 0
    await store.touch_user(OPENID, clock.now - 47 * 3600, ttl_s=72 * 3600)
    await output.send_text_message(OPENID, "窗口内")
    assert fake_api.texts_to() == ["窗口内"]
    assert caplog.text.count("wechat.window.closed") == 2


async def test_outside_the_window_a_notice_goes_out_as_a_template_message(fake_api: FakeWeChatApi) -> None:
    clock = FakeClock()
    store = InMemoryWeChatStore(clock=clock)
    output = WeChatOutput(
        _client(fake_api, store, clock), store, clock, template_id="TPL-1", template_field="remark"
    )
    await store.touch_user(OPENID, clock.now - 49 * 3600, ttl_s=72 * 3600)
    assert await output.send_texts(OPENID, ["您的工单 SF202611280001 已办结", "请回复满意度"]) == 2
    assert fake_api.texts_to() == []
    [template] = fake_api.templates_to()
    assert template["template_id"] == "TPL-1"
    assert template["data"] == {"remark": {"value": "您的工单 SF202611280001 已办结\n请回复满意度"}}


async def test_when_wechat_says_the_window_closed_the_template_takes_over(fake_api: FakeWeChatApi) -> None:
    store = InMemoryWeChatStore()
    await store.touch_user(OPENID, time.time(), ttl_s=3600)
    output = WeChatOutput(_client(fake_api, store), store, template_id="TPL-1")
    fake_api.send_errcode = WINDOW_CLOSED  # applies to both APIs in the fake: nothing gets through
    assert await output.send_texts(OPENID, ["通知"]) == 0
    fake_api.send_errcode = 0
    assert await output.send_texts(OPENID, ["通知"]) == 1


async def test_wechat_saying_the_window_closed_is_logged_as_such(
    fake_api: FakeWeChatApi, caplog: pytest.LogCaptureFixture
) -> None:
    store = InMemoryWeChatStore()
    output = WeChatOutput(_client(fake_api, store), store)
    await store.touch_user(OPENID, time.time(), ttl_s=60)
    fake_api.send_errcode = WINDOW_CLOSED
    caplog.set_level(logging.INFO, logger="bot.channels")
    assert await output.send_texts(OPENID, ["一", "二"]) == 0
    assert "wechat.window.closed sender=" in caplog.text and "template=none" in caplog.text


async def test_rasa_can_reach_the_citizen_later_through_the_output_channel(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    """What a handoff or a ticket update would use (``get_output_channel``)."""
    channel = make_channel()
    async with ChannelServer(channel, FakeBot()) as server:
        await server.post(text_xml("转人工"))
        output = channel.get_output_channel()
        await output.send_response(OPENID, {"text": "您好，我是人工客服。", "buttons": [{"title": "好的"}]})
    assert fake_api.texts_to() == ["您好，我是人工客服。\n可直接回复：“好的”"]


async def test_logs_carry_no_citizen_text_openid_secret_or_token(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = FakeBot(delay=0.5)
    private: List[str] = [OPENID, SECRET, "13912345678", "我家住幸福小区3栋"]
    async with ChannelServer(make_channel(passive_timeout_s=0.2), bot) as server:
        await server.post(text_xml("我家住幸福小区3栋，电话13912345678", msg_id=808))
        await server.post(text_xml("重复", msg_id=808))
        await server.post(text_xml("伪造"), params=signed_params(token="x"))
        for _ in range(40):
            if fake_api.sent:
                break
            await asyncio.sleep(0.05)
    assert fake_api.sent and fake_api.valid_tokens
    for event in (
        "wechat.message.received",
        "wechat.message.duplicate",
        "wechat.message.rejected",
        "wechat.send.ok",
    ):
        assert event in caplog.text
    for secret in private + fake_api.valid_tokens:
        assert secret not in caplog.text


async def test_a_reminder_after_the_turn_goes_out_through_the_api(fake_api: FakeWeChatApi) -> None:
    from bot.channels.wechat import TurnCollector

    store = InMemoryWeChatStore()
    await store.touch_user(OPENID, time.time(), ttl_s=3600)
    collector = TurnCollector(WeChatOutput(_client(fake_api, store), store))
    await collector.send_text_message(OPENID, "在回合内")
    assert [m["text"] for m in collector.messages] == ["在回合内"] and fake_api.texts_to() == []
    collector.close()
    await collector.send_text_with_buttons(
        OPENID, "人工客服暂时都在忙", [{"title": "留言等回电", "payload": "留言"}]
    )
    assert fake_api.texts_to() == ["人工客服暂时都在忙\n可直接回复：“留言等回电”"]
