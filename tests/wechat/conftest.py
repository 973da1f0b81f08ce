"""Fixtures of the WeChat channel tests: a fake WeChat API, channels, stores (memory and Redis).

Redis comes from TEST_REDIS_URL (default: the local server). Each test uses its own key prefix
and deletes its keys afterwards. Without a reachable server the Redis cases are skipped,
unless REXIAN_REQUIRE_SERVICES=1, when they fail instead.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, AsyncIterator, Callable, Iterator

import pytest
import redis

from bot.channels.wechat import WeChatInput
from bot.channels.wechat_store import InMemoryWeChatStore, RedisWeChatStore, WeChatStore
from tests.wechat.wechat_harness import APPID, SECRET, TOKEN, FakeWeChatApi

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis at {url} is not usable: {exc}"
        if os.environ.get("REXIAN_REQUIRE_SERVICES") == "1":
            pytest.fail(f"REXIAN_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    finally:
        client.close()
    yield url


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (if Redis was used)."""
    prefix = f"rexian:test:wechat:{uuid.uuid4().hex[:12]}:"
    yield prefix
    if "redis_url" in request.fixturenames:
        url = request.getfixturevalue("redis_url")
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


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
