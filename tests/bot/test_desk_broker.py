"""bot.broker.DeskEventBroker against a fake desk on loopback."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.utils.endpoints import EndpointConfig

from bot.broker import DeskEventBroker


class FakeDesk:
    def __init__(self) -> None:
        self.batches: List[List[Dict[str, Any]]] = []
        self.headers: List[str] = []
        self.down = False
        app = web.Application()
        app.router.add_post("/api/rasa/events", self.receive)
        self.server = TestServer(app)

    async def receive(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({}, status=503)
        self.headers.append(request.headers.get("Authorization", ""))
        self.batches.append((await request.json())["events"])
        return web.json_response({"accepted": 1}, status=202)

    @property
    def texts(self) -> List[str]:
        return [e.get("text") for batch in self.batches for e in batch]


async def _until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_events_arrive_in_order_with_the_token() -> None:
    desk = FakeDesk()
    await desk.server.start_server()
    config = EndpointConfig(
        url=str(desk.server.make_url("")), type="bot.broker.DeskEventBroker", token="s3cret"
    )
    broker = await DeskEventBroker.from_endpoint_config(config)
    assert broker is not None
    for n in range(30):
        broker.publish({"event": "user", "sender_id": "a", "text": f"第{n}条"})
    broker.publish({"event": "slot", "sender_id": "a", "name": "x"})  # not forwarded
    await _until(lambda: len(desk.texts) == 30)
    assert desk.texts == [f"第{n}条" for n in range(30)]
    assert set(desk.headers) == {"Bearer s3cret"}
    await broker.close()
    await desk.server.close()


async def test_events_wait_while_desk_is_down_and_nothing_is_lost() -> None:
    desk = FakeDesk()
    await desk.server.start_server()
    broker = DeskEventBroker(str(desk.server.make_url("")))
    desk.down = True
    broker.publish({"event": "user", "sender_id": "a", "text": "一"})
    broker.publish({"event": "bot", "sender_id": "a", "text": "二"})
    await asyncio.sleep(0.5)
    assert desk.texts == []
    desk.down = False
    await _until(lambda: desk.texts == ["一", "二"], timeout=8)
    await broker.close()
    await desk.server.close()


async def test_without_a_url_there_is_no_broker() -> None:
    assert await DeskEventBroker.from_endpoint_config(EndpointConfig(url="", type="x")) is None
