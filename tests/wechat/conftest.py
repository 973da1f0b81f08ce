"""Fixtures of the WeChat channel tests: a fake WeChat API, channels, stores (memory and Redis).

Redis fixtures (``redis_url``, ``redis_prefix``) live in tests/conftest.py.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable

import pytest

from bot.channels.wechat import WeChatInput
from bot.channels.wechat_store import InMemoryWeChatStore, RedisWeChatStore, WeChatStore
from tests.wechat.wechat_harness import APPID, SECRET, TOKEN, FakeWeChatApi


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[WeChatStore]:
    """The same contract runs against both stores (STYLE 3)."""
    if request.param == "memory":
        instance: WeChatStore = InMemoryWeChatStore()
    else:
        instance = RedisWeChatStore.from_url(request.getfixturevalue("redis_url"), key_prefix=redis_prefix)
    yield instance
    await instance.close()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeWeChatApi]:
    api = await FakeWeChatApi().start()
    yield api
    await api.close()


@pytest.fixture
def make_channel(fake_api: FakeWeChatApi) -> Callable[..., WeChatInput]:
    def build(**settings: Any) -> WeChatInput:
        return WeChatInput(token=TOKEN, appid=APPID, secret=SECRET, api_base=fake_api.url, **settings)

    return build
