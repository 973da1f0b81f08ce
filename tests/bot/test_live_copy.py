"""bot.channels.live_copy: desk gets each citizen message before the bot's turn runs."""

from __future__ import annotations

import time
from typing import Any, Dict, List

from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.live_copy import LiveCopy


async def test_desk_has_the_copy_before_the_turn_starts() -> None:
    received: List[Dict[str, Any]] = []

    async def events(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        received.extend((await request.json())["events"])
        return web.json_response({"accepted": 1}, status=202)

    app = web.Application()
    app.router.add_post("/api/rasa/events", events)
    server = TestServer(app)
    await server.start_server()
    seen_at_turn: List[int] = []

    async def turn(message: UserMessage) -> None:
        seen_at_turn.append(len(received))

    handler = LiveCopy(str(server.make_url("")), "tok").wrap(turn)
    message = UserMessage(
        "路灯坏了", CollectingOutputChannel(), "web-1", input_channel="webchat", message_id="m-1"
    )
    await handler(message)
    assert seen_at_turn == [1]
    assert received[0]["event"] == "user_live" and received[0]["message_id"] == "m-1"
    assert received[0]["text"] == "路灯坏了" and received[0]["input_channel"] == "webchat"
    await server.close()


async def test_a_desk_that_is_down_delays_the_turn_at_most_briefly() -> None:
    turns: List[str] = []

    async def turn(message: UserMessage) -> None:
        turns.append(message.text or "")

    handler = LiveCopy("http://127.0.0.1:9").wrap(turn)
    started = time.perf_counter()
    await handler(UserMessage("你好", CollectingOutputChannel(), "web-1"))
    assert turns == ["你好"] and time.perf_counter() - started < 1.0
