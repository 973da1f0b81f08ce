"""Fixtures shared by several test packages: a real Redis server with per-test key prefixes.

Redis comes from TEST_REDIS_URL (default: the local server). Each test uses its own key prefix
and deletes its keys afterwards. Without a reachable server the Redis cases are skipped,
unless REXIAN_REQUIRE_SERVICES=1, when they fail instead.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
import redis

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
    prefix = f"rexian:test:{uuid.uuid4().hex[:12]}:"
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
