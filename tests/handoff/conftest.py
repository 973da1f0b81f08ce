"""Fixtures of the hand-off tests: stores (memory and Redis), a fake Rasa HTTP API, desk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from desk.handoff.routes import HANDOFFS
from desk.handoff.store import HandoffStore, InMemoryHandoffStore, RedisHandoffStore
from desk.keys import USERS
from tests.desk.conftest import ADMIN, make_client  # noqa: F401  (fixture reused here)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[HandoffStore]:
    """The same contract runs against both stores (STYLE 3)."""
    if request.param == "memory":
        instance: HandoffStore = InMemoryHandoffStore()
    else:
        instance = RedisHandoffStore.from_url(request.getfixturevalue("redis_url"), key_prefix=redis_prefix)
    yield instance
    await instance.close()


class FakeRasa:
    """Rasa's tracker API on loopback: records appended events and knows who is paused."""

    def __init__(self) -> None:
        self.events: Dict[str, List[Dict[str, Any]]] = {}
        self.calls: List[Dict[str, Any]] = []
        self.down = False
        app = web.Application()
        app.router.add_post("/conversations/{sender}/tracker/events", self._append)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        self.server = TestServer(app)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def paused(self, sender: str) -> bool:
        state = False
        for event in self.events.get(sender, []):
            if event["event"] in ("pause", "resume"):
                state = event["event"] == "pause"
        return state

    def said_to(self, sender: str) -> List[str]:
        return [e["text"] for e in self.events.get(sender, []) if e["event"] == "bot"]

    def citizen_says(self, sender: str, text: str) -> None:
        self.events.setdefault(sender, []).append({"event": "user", "text": text, "timestamp": 1.0})

    async def _append(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"message": "down"}, status=500)
        events = await request.json()
        self.calls.append({"query": dict(request.query), "events": events})
        self.events.setdefault(request.match_info["sender"], []).extend(events)
        return web.json_response({})

    async def _tracker(self, request: web.Request) -> web.Response:
        events = self.events.get(request.match_info["sender"], [])
        return web.json_response({"events": events, "slots": {}})


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    rasa = FakeRasa()
    await rasa.server.start_server()
    yield rasa
    await rasa.server.close()


@pytest.fixture(params=["memory", "redis"])
async def desk(
    request: pytest.FixtureRequest,
    make_client,  # noqa: F811
    fake_rasa: FakeRasa,
    tmp_path: Path,
    redis_prefix: str,
):
    """desk with a hand-off store of each kind, talking to the fake Rasa."""
    store = "in_memory"
    if request.param == "redis":
        store = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/5"
    client: TestClient = await make_client(
        f"sqlite:///{tmp_path / 'desk.db'}", rasa_url=fake_rasa.url, handoff_store=store
    )
    if request.param == "redis":  # a private key space for this test
        service = client.app[HANDOFFS]
        await service.store.close()
        service.store = RedisHandoffStore.from_url(store, key_prefix=redis_prefix)
    await asyncio.to_thread(client.app[USERS].ensure, "wangmin", "operator-pass-1", "operator")
    await asyncio.to_thread(client.app[USERS].ensure, "lijing", "operator-pass-2", "operator")
    yield client
    if request.param == "redis":
        await client.app[HANDOFFS].store.close()


async def login(
    client: TestClient, username: str = ADMIN["username"], password: str = ADMIN["password"]
) -> Dict[str, str]:
    response = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}
