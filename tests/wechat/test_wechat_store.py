"""The WeChatStore contract, run against the in-memory store and a real Redis server."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from bot.channels.wechat_store import (
    AccessToken,
    InMemoryWeChatStore,
    RedisWeChatStore,
    WeChatStore,
    create_wechat_store,
)
from tests.wechat.wechat_harness import OPENID


async def test_a_message_is_claimed_once(store: WeChatStore) -> None:
    assert await store.claim("id:1", ttl_s=30)
    assert not await store.claim("id:1", ttl_s=30)
    assert await store.claim("id:2", ttl_s=30)


async def test_concurrent_claims_have_one_winner(store: WeChatStore) -> None:
    results = await asyncio.gather(*(store.claim("id:race", ttl_s=30) for _ in range(20)))
    assert results.count(True) == 1


async def test_a_claim_expires(store: WeChatStore) -> None:
    assert await store.claim("id:short", ttl_s=0.2)
    await asyncio.sleep(0.35)
    assert await store.claim("id:short", ttl_s=0.2)


async def test_the_access_token_is_cached_until_it_expires(store: WeChatStore) -> None:
    assert await store.load_access_token() is None
    await store.save_access_token(AccessToken("tok-1", time.time() + 0.4))
    cached = await store.load_access_token()
    assert cached is not None and cached.value == "tok-1"
    assert cached.expires_at == pytest.approx(time.time() + 0.4, abs=0.2)
    await asyncio.sleep(0.6)
    assert await store.load_access_token() is None


async def test_dropping_a_token_spares_a_newer_one(store: WeChatStore) -> None:
    await store.save_access_token(AccessToken("new", time.time() + 60))
    await store.drop_access_token("old")  # another replica's stale token
    assert (await store.load_access_token()).value == "new"  # type: ignore[union-attr]
    await store.drop_access_token("new")
    assert await store.load_access_token() is None


async def test_a_lock_has_one_owner_until_released_or_expired(store: WeChatStore) -> None:
    owner = await store.acquire_lock("refresh", ttl_s=30)
    assert owner is not None
    assert await store.acquire_lock("refresh", ttl_s=30) is None
    await store.release_lock("refresh", "not-the-owner")
    assert await store.acquire_lock("refresh", ttl_s=30) is None
    await store.release_lock("refresh", owner)
    assert await store.acquire_lock("refresh", ttl_s=0.2) is not None
    await asyncio.sleep(0.35)
    assert await store.acquire_lock("refresh", ttl_s=30) is not None


async def test_last_seen_is_kept_for_the_window(store: WeChatStore) -> None:
    assert await store.last_seen(OPENID) is None
    await store.touch_user(OPENID, 1_700_000_000.5, ttl_s=30)
    assert await store.last_seen(OPENID) == 1_700_000_000.5
    await store.touch_user(OPENID, 1_700_000_100.0, ttl_s=0.2)
    await asyncio.sleep(0.35)
    assert await store.last_seen(OPENID) is None


async def test_redis_keeps_no_openid_in_clear(redis_url: str, redis_prefix: str) -> None:
    store = RedisWeChatStore.from_url(redis_url, key_prefix=redis_prefix)
    try:
        await store.touch_user(OPENID, time.time(), ttl_s=30)
        await store.claim("id:77", ttl_s=30)
    finally:
        await store.close()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = list(client.scan_iter(match=redis_prefix + "*"))
    finally:
        client.close()
    assert len(keys) == 2 and not any(OPENID in key for key in keys)


def test_the_factory_is_keyed_by_the_store_setting() -> None:
    assert isinstance(create_wechat_store(None, "wx1"), InMemoryWeChatStore)
    assert isinstance(create_wechat_store("in_memory", "wx1"), InMemoryWeChatStore)
    assert isinstance(create_wechat_store("redis://127.0.0.1:6379/0", "wx1"), RedisWeChatStore)
    with pytest.raises(ValueError, match="unknown WeChat store"):
        create_wechat_store("mongodb://localhost", "wx1")
