"""Shared state of the WeChat channel: delivery dedupe, the access token, locks, the 48 h window.

Shaped like ``rasa/core/lock_store.py``: an abstract base with a few storage methods, an
in-memory implementation for the embedded default (one Rasa process), a Redis one for
production (several Rasa replicas share one WeChat account, one access token and one dedupe
set), and one factory keyed by the ``store`` setting (``in_memory`` or a ``redis://`` URL).
"""

from __future__ import annotations

import abc
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from redis import asyncio as redis_asyncio

Clock = Callable[[], float]

# Deletes KEYS[1] only while it still holds ARGV[1]: a replica never drops a token another
# replica refreshed in the meantime, nor a lock it no longer owns.
_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class AccessToken:
    """A WeChat API access token and when (epoch seconds) WeChat stops accepting it."""

    value: str
    expires_at: float


def user_key(openid: str) -> str:
    """Key for per-user state: the full SHA-256 of the openid, so no openid is stored in clear."""
    return hashlib.sha256(openid.encode("utf-8")).hexdigest()


class WeChatStore(abc.ABC):
    """Storage the channel needs; every method is safe to call from concurrent requests."""

    @abc.abstractmethod
    async def claim(self, key: str, ttl_s: float) -> bool:
        """Marks ``key`` as seen for ``ttl_s`` seconds; True only for the first caller."""

    @abc.abstractmethod
    async def load_access_token(self) -> Optional[AccessToken]:
        """The cached access token, or None when there is none or it has expired."""

    @abc.abstractmethod
    async def save_access_token(self, token: AccessToken) -> None:
        """Caches ``token`` until its ``expires_at``."""

    @abc.abstractmethod
    async def drop_access_token(self, value: str) -> None:
        """Forgets the cached token if it is still ``value`` (WeChat rejected it)."""

    @abc.abstractmethod
    async def acquire_lock(self, name: str, ttl_s: float) -> Optional[str]:
        """Takes the named lock for at most ``ttl_s`` seconds; returns an owner id or None."""

    @abc.abstractmethod
    async def release_lock(self, name: str, owner: str) -> None:
        """Releases the lock if ``owner`` still holds it."""

    @abc.abstractmethod
    async def touch_user(self, openid: str, at: float, ttl_s: float) -> None:
        """Records that the user wrote to the account at ``at`` (kept ``ttl_s`` seconds)."""

    @abc.abstractmethod
    async def last_seen(self, openid: str) -> Optional[float]:
        """When the user last wrote to the account, or None if not within the kept period."""

    async def close(self) -> None:
        """Releases connections; the default holds none."""
        return None


class InMemoryWeChatStore(WeChatStore):
    """Process-local store: right for one Rasa process, lost on restart."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._values: Dict[str, Tuple[str, float]] = {}  # key -> (value, expires_at)
        self._writes = 0

    def _get(self, key: str) -> Optional[Tuple[str, float]]:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._values[key]
            return None
        return entry

    def _set(self, key: str, value: str, ttl_s: float) -> None:
        self._values[key] = (value, self._clock() + ttl_s)
        self._writes += 1
        if self._writes % 1000 == 0:  # expired dedupe keys would otherwise pile up
            self._purge()

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, (_, expires_at) in self._values.items() if expires_at <= now]:
            del self._values[key]

    async def claim(self, key: str, ttl_s: float) -> bool:
        if self._get(f"msg:{key}") is not None:
            return False
        self._set(f"msg:{key}", "1", ttl_s)
        return True

    async def load_access_token(self) -> Optional[AccessToken]:
        entry = self._get("token")
        return AccessToken(entry[0], entry[1]) if entry else None

    async def save_access_token(self, token: AccessToken) -> None:
        self._values["token"] = (token.value, token.expires_at)

    async def drop_access_token(self, value: str) -> None:
        entry = self._get("token")
        if entry and entry[0] == value:
            del self._values["token"]

    async def acquire_lock(self, name: str, ttl_s: float) -> Optional[str]:
        if self._get(f"lock:{name}") is not None:
            return None
        owner = secrets.token_hex(8)
        self._set(f"lock:{name}", owner, ttl_s)
        return owner

    async def release_lock(self, name: str, owner: str) -> None:
        entry = self._get(f"lock:{name}")
        if entry and entry[0] == owner:
            del self._values[f"lock:{name}"]

    async def touch_user(self, openid: str, at: float, ttl_s: float) -> None:
        self._set(f"user:{user_key(openid)}", repr(at), ttl_s)

    async def last_seen(self, openid: str) -> Optional[float]:
        entry = self._get(f"user:{user_key(openid)}")
        return float(entry[0]) if entry else None


class RedisWeChatStore(WeChatStore):
    """Store in Redis (``redis.asyncio``), shared by every Rasa replica of one account."""

    def __init__(self, client: "redis_asyncio.Redis", key_prefix: str = "wechat:") -> None:
        self._redis = client
        self._prefix = key_prefix
        self._compare_and_delete = client.register_script(_COMPARE_AND_DELETE)

    @classmethod
    def from_url(cls, url: str, key_prefix: str = "wechat:") -> "RedisWeChatStore":
        client = redis_asyncio.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )
        return cls(client, key_prefix)

    def _key(self, name: str) -> str:
        return self._prefix + name

    async def claim(self, key: str, ttl_s: float) -> bool:
        return bool(await self._redis.set(self._key(f"msg:{key}"), "1", px=_ms(ttl_s), nx=True))

    async def load_access_token(self) -> Optional[AccessToken]:
        async with self._redis.pipeline(transaction=True) as pipe:
            value, ttl_ms = await pipe.get(self._key("token")).pttl(self._key("token")).execute()
        if value is None or ttl_ms is None or ttl_ms <= 0:
            return None
        return AccessToken(value, time.time() + ttl_ms / 1000)

    async def save_access_token(self, token: AccessToken) -> None:
        ttl_s = token.expires_at - time.time()
        if ttl_s > 0:
            await self._redis.set(self._key("token"), token.value, px=_ms(ttl_s))

    async def drop_access_token(self, value: str) -> None:
        await self._compare_and_delete(keys=[self._key("token")], args=[value])

    async def acquire_lock(self, name: str, ttl_s: float) -> Optional[str]:
        owner = secrets.token_hex(8)
        taken = await self._redis.set(self._key(f"lock:{name}"), owner, px=_ms(ttl_s), nx=True)
        return owner if taken else None

    async def release_lock(self, name: str, owner: str) -> None:
        await self._compare_and_delete(keys=[self._key(f"lock:{name}")], args=[owner])

    async def touch_user(self, openid: str, at: float, ttl_s: float) -> None:
        await self._redis.set(self._key(f"user:{user_key(openid)}"), repr(at), px=_ms(ttl_s))

    async def last_seen(self, openid: str) -> Optional[float]:
        value = await self._redis.get(self._key(f"user:{user_key(openid)}"))
        return float(value) if value is not None else None

    async def close(self) -> None:
        await self._redis.close()
        await self._redis.connection_pool.disconnect()


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def create_wechat_store(setting: Optional[str], namespace: str) -> WeChatStore:
    """The store named by the channel's ``store`` setting.

    Args:
        setting: empty or ``in_memory`` for the process-local store; a ``redis://``,
            ``rediss://`` or ``unix://`` URL for Redis.
        namespace: separates accounts sharing one Redis (the appid).

    Raises:
        ValueError: for any other setting, so a typo fails at start-up.
    """
    value = (setting or "").strip()
    if value in ("", "in_memory", "memory"):
        return InMemoryWeChatStore()
    if value.startswith(("redis://", "rediss://", "unix://")):
        return RedisWeChatStore.from_url(value, key_prefix=f"rexian:wechat:{namespace}:")
    raise ValueError(f"unknown WeChat store {value!r}: use 'in_memory' or a redis:// URL")
