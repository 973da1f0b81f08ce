"""Shared state of the web chat channel: each conversation's outbox and live delivery.

Every message for a citizen (bot replies, an operator's words, typing notices excluded) is
appended to the conversation's outbox with a sequence number before it is pushed. A page that
lost its connection says which number it saw last and gets the rest replayed, so nothing is
lost across a network drop. Citizen messages carry a client id; ``claim`` makes a message
resent after a reconnect run one turn only.

Shaped like ``rasa/core/lock_store.py``: an abstract base, an in-memory store for one Rasa
process (the embedded default), a Redis store with pub/sub for several replicas (the page
may be connected to one replica while an operator's message arrives at another), and one
factory keyed by the channel's ``store`` setting.
"""

from __future__ import annotations

import abc
import asyncio
import json
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Set

from redis import asyncio as redis_asyncio

OUTBOX_LIMIT = 200  # messages kept per conversation for replay
OUTBOX_TTL_S = 24 * 3600


class Subscription(abc.ABC):
    """Live messages appended to one conversation's outbox after ``subscribe``."""

    @abc.abstractmethod
    async def next(self, timeout_s: float) -> Optional[Dict[str, Any]]:
        """The next message, or None when none arrived within ``timeout_s``."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stops delivery."""


class WebChatStore(abc.ABC):
    """Storage the web chat needs; safe to call from concurrent connections."""

    @abc.abstractmethod
    async def append(self, sender_id: str, message: Dict[str, Any]) -> Dict[str, Any]:
        """Stores ``message`` with the conversation's next ``seq``, publishes it, returns it."""

    @abc.abstractmethod
    async def since(self, sender_id: str, seq: int) -> List[Dict[str, Any]]:
        """The kept messages with a sequence number above ``seq``, oldest first."""

    @abc.abstractmethod
    async def subscribe(self, sender_id: str) -> Subscription:
        """Live delivery of messages appended from now on."""

    @abc.abstractmethod
    async def claim(self, key: str, ttl_s: float) -> bool:
        """Marks ``key`` seen for ``ttl_s`` seconds; True only for the first caller."""

    async def close(self) -> None:
        """Releases connections; the default holds none."""
        return None


class _QueueSubscription(Subscription):
    def __init__(self, queues: Set["asyncio.Queue[Dict[str, Any]]"]) -> None:
        self._queues = queues
        self.queue: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        queues.add(self.queue)

    async def next(self, timeout_s: float) -> Optional[Dict[str, Any]]:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout_s)
        except asyncio.TimeoutError:
            return None

    async def close(self) -> None:
        self._queues.discard(self.queue)


class InMemoryWebChatStore(WebChatStore):
    """Process-local store: right for one Rasa process, lost on restart."""

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        self._limit = limit
        self._outboxes: Dict[str, Deque[Dict[str, Any]]] = {}
        self._seq: Dict[str, int] = {}
        self._subscribers: Dict[str, Set["asyncio.Queue[Dict[str, Any]]"]] = {}
        self._claims: Dict[str, float] = {}

    async def append(self, sender_id: str, message: Dict[str, Any]) -> Dict[str, Any]:
        seq = self._seq.get(sender_id, 0) + 1
        self._seq[sender_id] = seq
        stored = {**message, "seq": seq}
        self._outboxes.setdefault(sender_id, deque(maxlen=self._limit)).append(stored)
        for queue in list(self._subscribers.get(sender_id, ())):
            if not queue.full():  # a stuck reader catches up from the outbox on reconnect
                queue.put_nowait(stored)
        return stored

    async def since(self, sender_id: str, seq: int) -> List[Dict[str, Any]]:
        return [m for m in self._outboxes.get(sender_id, ()) if m["seq"] > seq]

    async def subscribe(self, sender_id: str) -> Subscription:
        return _QueueSubscription(self._subscribers.setdefault(sender_id, set()))

    async def claim(self, key: str, ttl_s: float) -> bool:
        now = asyncio.get_running_loop().time()
        if len(self._claims) > 10_000:
            self._claims = {k: t for k, t in self._claims.items() if t > now}
        if self._claims.get(key, 0.0) > now:
            return False
        self._claims[key] = now + ttl_s
        return True


class _RedisSubscription(Subscription):
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def next(self, timeout_s: float) -> Optional[Dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if raw is not None and raw.get("type") == "message":
                return json.loads(raw["data"])

    async def close(self) -> None:
        await self._pubsub.unsubscribe()
        await self._pubsub.close()


class RedisWebChatStore(WebChatStore):
    """Outboxes in Redis lists, live delivery by pub/sub, shared by every Rasa replica."""

    def __init__(self, client: "redis_asyncio.Redis", key_prefix: str = "rexian:webchat:") -> None:
        self._redis = client
        self._prefix = key_prefix

    @classmethod
    def from_url(cls, url: str, key_prefix: str = "rexian:webchat:") -> "RedisWebChatStore":
        client = redis_asyncio.Redis.from_url(
            url, socket_connect_timeout=2, decode_responses=True, health_check_interval=30
        )
        return cls(client, key_prefix)

    def _key(self, kind: str, sender_id: str) -> str:
        return f"{self._prefix}{kind}:{sender_id}"

    async def append(self, sender_id: str, message: Dict[str, Any]) -> Dict[str, Any]:
        seq = int(await self._redis.incr(self._key("seq", sender_id)))
        stored = {**message, "seq": seq}
        payload = json.dumps(stored, ensure_ascii=False)
        outbox = self._key("outbox", sender_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(outbox, payload).ltrim(outbox, -OUTBOX_LIMIT, -1)
            pipe.expire(outbox, OUTBOX_TTL_S).expire(self._key("seq", sender_id), OUTBOX_TTL_S)
            pipe.publish(self._key("live", sender_id), payload)
            await pipe.execute()
        return stored

    async def since(self, sender_id: str, seq: int) -> List[Dict[str, Any]]:
        raw = await self._redis.lrange(self._key("outbox", sender_id), 0, -1)
        messages = [json.loads(item) for item in raw]
        return sorted((m for m in messages if m["seq"] > seq), key=lambda m: m["seq"])

    async def subscribe(self, sender_id: str) -> Subscription:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._key("live", sender_id))
        return _RedisSubscription(pubsub)

    async def claim(self, key: str, ttl_s: float) -> bool:
        taken = await self._redis.set(
            f"{self._prefix}claim:{key}", "1", px=max(1, int(ttl_s * 1000)), nx=True
        )
        return bool(taken)

    async def close(self) -> None:
        await self._redis.close()
        await self._redis.connection_pool.disconnect()


def create_webchat_store(setting: Optional[str]) -> WebChatStore:
    """The store named by the channel's ``store`` setting (``in_memory`` or a redis URL).

    Raises:
        ValueError: for any other setting, so a typo fails at start-up.
    """
    value = (setting or "").strip()
    if value in ("", "in_memory", "memory"):
        return InMemoryWebChatStore()
    if value.startswith(("redis://", "rediss://", "unix://")):
        return RedisWebChatStore.from_url(value)
    raise ValueError(f"unknown web chat store {value!r}: use 'in_memory' or a redis:// URL")
