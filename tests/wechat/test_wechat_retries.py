"""WeChat's retries: one bot turn and exactly one reply per message, passive or later, never both."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, List, Tuple

import pytest

from bot.channels.wechat import WeChatInput
from bot.channels.wechat_store import RedisWeChatStore, WeChatStore
from tests.wechat.wechat_harness import (
    ChannelServer,
    FakeBot,
    FakeTrackerStore,
    FakeWeChatApi,
    event_xml,
    reply_content,
    signed_params,
    text_xml,
)


async def _deliver_like_wechat(
    server: ChannelServer, body: bytes, offsets: List[float]
) -> List[Tuple[int, str]]:
    """The same message delivered at each offset (seconds), each with its own signature."""

    async def one(offset: float) -> Tuple[int, str]:
        await asyncio.sleep(offset)
        return await server.post(body, params=signed_params())

    return list(await asyncio.gather(*(one(offset) for offset in offsets)))


def _passive(answers: List[Tuple[int, str]]) -> List[str]:
    assert all(status == 200 for status, _ in answers)
    return [reply_content(text) for _, text in answers if text != "success"]


async def _wait_for_sent(fake_api: FakeWeChatApi, count: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while len(fake_api.sent) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def test_three_deliveries_within_five_seconds_make_one_turn_and_one_reply(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    """WeChat's own timing: tries at 0, 1 and 2 s; the bot needs 4.5 s; 4 s passive deadline."""
    bot = FakeBot(delay=4.5)
    async with ChannelServer(make_channel(), bot) as server:
        answers = await _deliver_like_wechat(server, text_xml("井盖丢了", msg_id=501), [0.0, 1.0, 2.0])
        await asyncio.sleep(0.3)
    assert len(bot.received) == 1
    passive = _passive(answers)
    # the try that arrived at 1 s (or, on a loaded machine, at 2 s) was still waiting at 4.5 s
    assert passive == ["收到：井盖丢了"] and answers[0][1] == "success"
    assert fake_api.sent == []


async def test_a_bot_slower_than_every_deadline_answers_once_by_customer_service(
    store: WeChatStore, make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot = FakeBot(delay=1.2)
    async with ChannelServer(make_channel(store=store, passive_timeout_s=0.4), bot) as server:
        answers = await _deliver_like_wechat(server, text_xml("噪音扰民", msg_id=502), [0.0, 0.1, 0.3])
        assert [text for _, text in answers] == ["success"] * 3
        await _wait_for_sent(fake_api, 1)
        await asyncio.sleep(0.3)  # room for a (wrong) second delivery
    assert len(bot.received) == 1
    assert fake_api.texts_to() == ["收到：噪音扰民"]


async def test_simultaneous_deliveries_share_one_passive_reply(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot = FakeBot(delay=0.2)
    async with ChannelServer(make_channel(), bot) as server:
        answers = await _deliver_like_wechat(server, text_xml("路灯不亮", msg_id=503), [0.0, 0.0, 0.0])
    assert len(bot.received) == 1
    assert _passive(answers) == ["收到：路灯不亮"]
    assert fake_api.sent == []


async def test_a_retry_after_the_reply_answers_success(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        first = await server.post(text_xml("你好", msg_id=504))
        again = await server.post(text_xml("你好", msg_id=504))
    assert reply_content(first[1]) == "收到：你好" and again == (200, "success")
    assert len(bot.received) == 1 and fake_api.sent == []


async def test_a_dropped_connection_gets_its_reply_by_customer_service(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot = FakeBot(delay=0.6)
    async with ChannelServer(make_channel(passive_timeout_s=3.0), bot) as server:
        with pytest.raises(asyncio.TimeoutError):
            await server.post(text_xml("下水道堵了", msg_id=505), timeout=0.2)
        await _wait_for_sent(fake_api, 1)
        await asyncio.sleep(0.2)
    assert len(bot.received) == 1
    assert fake_api.texts_to() == ["收到：下水道堵了"]


async def test_a_repeated_event_is_welcomed_once(make_channel: Callable[..., WeChatInput]) -> None:
    async with ChannelServer(make_channel(), FakeBot()) as server:
        answers = await _deliver_like_wechat(
            server, event_xml("subscribe", create_time=1_700_000_500), [0, 0, 0.1]
        )
        other_time = await server.post(event_xml("subscribe", create_time=1_700_000_501))
    assert len(_passive(answers)) == 1
    assert other_time[1] != "success"


async def test_replicas_sharing_redis_run_one_turn(
    redis_url: str, redis_prefix: str, make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    """Two Rasa replicas behind one load balancer: WeChat's retry lands on the other one."""
    bots = [FakeBot(delay=0.3), FakeBot(delay=0.3)]
    channels = [
        make_channel(store=RedisWeChatStore.from_url(redis_url, key_prefix=redis_prefix)) for _ in bots
    ]
    async with ChannelServer(channels[0], bots[0]) as one, ChannelServer(channels[1], bots[1]) as two:
        body = text_xml("占道经营", msg_id=506)
        answers = await asyncio.gather(one.post(body), two.post(body))
    assert sum(len(bot.received) for bot in bots) == 1
    assert len(_passive(list(answers))) == 1
    assert fake_api.sent == []


async def test_concurrent_load_keeps_messages_apart(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot = FakeBot(delay=0.05)
    async with ChannelServer(make_channel(), bot) as server:
        answers = await asyncio.gather(
            *(server.post(text_xml(f"消息{i}", msg_id=10_000 + i)) for i in range(40))
        )
    assert sorted(_passive(list(answers))) == sorted(f"收到：消息{i}" for i in range(40))
    assert len(bot.received) == 40


@pytest.mark.parametrize("paused", [False, True])
async def test_a_silent_turn_gets_an_apology_unless_an_operator_holds_the_conversation(
    make_channel: Callable[..., WeChatInput], paused: bool
) -> None:
    async with ChannelServer(make_channel(), FakeBot(answers=lambda text: [])) as server:
        server.app.ctx.agent.tracker_store = FakeTrackerStore(paused)
        status, body = await server.post(text_xml("你好", msg_id=9001))
    assert status == 200
    if paused:
        assert body == "success"
    else:
        assert "繁忙" in reply_content(body)
