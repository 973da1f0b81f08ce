"""Fixtures of the web chat tests: stores (memory and Redis) and a client for the websocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Callable, Dict, List, Optional

import pytest
import websockets

from bot.channels.webchat_store import InMemoryWebChatStore, RedisWebChatStore, WebChatStore


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[WebChatStore]:
    """The same contract runs against both stores (STYLE 3)."""
    if request.param == "memory":
        instance: WebChatStore = InMemoryWebChatStore()
    else:
        instance = RedisWebChatStore.from_url(request.getfixturevalue("redis_url"), key_prefix=redis_prefix)
    yield instance
    await instance.close()


class Page:
    """A page's end of the websocket: sends frames, collects every frame the server sends."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: List[Dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))

    async def wait_for(self, test: Callable[[Dict[str, Any]], bool], timeout: float = 5.0) -> Dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for frame in self.frames:
                if test(frame):
                    return frame
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no matching frame within {timeout} s; got {self.frames}")
            await asyncio.sleep(0.02)

    def of_type(self, kind: str) -> List[Dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


async def open_page(base: str, session: Optional[str] = None, since: int = 0) -> Page:
    """Connects, says hello and waits until the replay is done."""
    ws = await websockets.connect(f"ws://{base}/webhooks/webchat/ws")
    page = Page(ws)
    await page.send({"type": "hello", "session": session, "since": since})
    await page.wait_for(lambda f: f.get("type") == "ready")
    return page
