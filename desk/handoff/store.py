"""Shared state of the hand-off desk: the queue, who holds which conversation, live fan-out.

Shaped like ``rasa/core/lock_store.py``: an abstract base with a few storage methods, an
in-memory store for the embedded default (one desk process), a Redis store for production
(several desk replicas share one queue; consoles connected to different replicas all get
live messages through pub/sub), and one factory keyed by ``HANDOFF_STORE``.

Claiming is atomic in both: of two operators claiming one conversation, exactly one wins.
"""

from __future__ import annotations

import abc
import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Set

from redis import asyncio as redis_asyncio

WAITING = "waiting"
HELD = "held"
TTL_S = 7 * 24 * 3600  # a forgotten entry does not live forever in Redis


@dataclass
class Handoff:
    """One conversation waiting for, or held by, an operator."""

    sender_id: str
    channel: str
    reason: str  # explicit | misunderstood | anger | urgent | kb_unanswered | operator
    enqueued_at: float
    priority: int = 0  # urgent cases first
    state: str = WAITING
    operator: Optional[str] = None
    claimed_at: Optional[float] = None
    operator_seen_at: Optional[float] = None
    last_citizen_at: Optional[float] = None
    note: Optional[str] = None
    draft: Dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> "Handoff":
        return cls(**json.loads(raw))


class HandoffNotFound(Exception):
    """No conversation with that sender id is waiting or held."""


class AlreadyClaimed(Exception):
    """Another operator holds the conversation."""

    def __init__(self, operator: Optional[str]) -> None:
        super().__init__(operator)
        self.operator = operator


class Subscription(abc.ABC):
    @abc.abstractmethod
    async def next(self, timeout_s: float) -> Optional[Dict[str, Any]]:
        """The next live message, or None when none arrived within ``timeout_s``."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stops delivery."""


def queue_order(handoffs: List[Handoff]) -> List[Handoff]:
    """Urgent first, then oldest first."""
    return sorted(handoffs, key=lambda h: (-h.priority, h.enqueued_at))


class HandoffStore(abc.ABC):
    """Storage of the hand-off desk; safe to call from concurrent requests."""

    @abc.abstractmethod
    async def add(self, handoff: Handoff) -> Handoff:
        """Queues ``handoff`` unless its conversation is already there; returns the stored one."""

    @abc.abstractmethod
    async def get(self, sender_id: str) -> Optional[Handoff]:
        """The conversation's entry, if it is waiting or held."""

    @abc.abstractmethod
    async def all(self) -> List[Handoff]:
        """Every entry, in queue order."""

    @abc.abstractmethod
    async def claim(self, sender_id: str, operator: str, now: float) -> Handoff:
        """Gives the conversation to ``operator`` (again, if they hold it already).

        Raises:
            HandoffNotFound: nothing to claim.
            AlreadyClaimed: another operator holds it.
        """

    @abc.abstractmethod
    async def save(self, handoff: Handoff) -> None:
        """Overwrites an existing entry (draft edits, timestamps, requeue)."""

    @abc.abstractmethod
    async def remove(self, sender_id: str) -> Optional[Handoff]:
        """Takes the conversation off the desk; returns what was there."""

    @abc.abstractmethod
    async def first_sight(self, key: str, ttl_s: float) -> bool:
        """True the first time ``key`` is seen within ``ttl_s`` (a message shown once)."""

    @abc.abstractmethod
    async def publish(self, message: Dict[str, Any]) -> None:
        """Sends a live message to every console (on every desk replica)."""

    @abc.abstractmethod
    async def subscribe(self) -> Subscription:
        """Live messages published from now on."""

    async def close(self) -> None:
        return None


class _QueueSubscription(Subscription):
    def __init__(self, queues: Set["asyncio.Queue[Dict[str, Any]]"]) -> None:
        self._queues = queues
        self.queue: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue(maxsize=1000)
        queues.add(self.queue)

    async def next(self, timeout_s: float) -> Optional[Dict[str, Any]]:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout_s)
        except asyncio.TimeoutError:
            return None

    async def close(self) -> None:
        self._queues.discard(self.queue)


class InMemoryHandoffStore(HandoffStore):
    """Process-local store: right for one desk process, lost on restart."""

    def __init__(self) -> None:
        self._entries: Dict[str, str] = {}  # JSON, so callers never share mutable state
        self._subscribers: Set["asyncio.Queue[Dict[str, Any]]"] = set()
        self._seen: Dict[str, float] = {}

    async def first_sight(self, key: str, ttl_s: float) -> bool:
        now = time.monotonic()
        if len(self._seen) > 10_000:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
        if self._seen.get(key, 0.0) > now:
            return False
        self._seen[key] = now + ttl_s
        return True

    async def add(self, handoff: Handoff) -> Handoff:
        if handoff.sender_id not in self._entries:
            self._entries[handoff.sender_id] = handoff.to_json()
        return Handoff.from_json(self._entries[handoff.sender_id])

    async def get(self, sender_id: str) -> Optional[Handoff]:
        raw = self._entries.get(sender_id)
        return Handoff.from_json(raw) if raw else None

    async def all(self) -> List[Handoff]:
        return queue_order([Handoff.from_json(raw) for raw in self._entries.values()])

    async def claim(self, sender_id: str, operator: str, now: float) -> Handoff:
        handoff = await self.get(sender_id)
        if handoff is None:
            raise HandoffNotFound(sender_id)
        if handoff.state == HELD and handoff.operator != operator:
            raise AlreadyClaimed(handoff.operator)
        if handoff.state != HELD:
            handoff.claimed_at = now
        handoff.state, handoff.operator, handoff.operator_seen_at = HELD, operator, now
        self._entries[sender_id] = handoff.to_json()
        return handoff

    async def save(self, handoff: Handoff) -> None:
        if handoff.sender_id in self._entries:
            self._entries[handoff.sender_id] = handoff.to_json()

    async def remove(self, sender_id: str) -> Optional[Handoff]:
        raw = self._entries.pop(sender_id, None)
        return Handoff.from_json(raw) if raw else None

    async def publish(self, message: Dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            if not queue.full():  # a stuck console reloads the queue when it reconnects
                queue.put_nowait(message)

    async def subscribe(self) -> Subscription:
        return _QueueSubscription(self._subscribers)


# Atomic claim: KEYS[1] the entry; ARGV operator, now. Returns the new JSON, "" if missing,
# or "held:<operator>" if someone else holds it.
_CLAIM = """
local raw = redis.call('get', KEYS[1])
if not raw then return '' end
local entry = cjson.decode(raw)
if entry['state'] == 'held' and entry['operator'] ~= ARGV[1] then
  return 'held:' .. tostring(entry['operator'])
end
if entry['state'] ~= 'held' then entry['claimed_at'] = tonumber(ARGV[2]) end
entry['state'] = 'held'
entry['operator'] = ARGV[1]
entry['operator_seen_at'] = tonumber(ARGV[2])
local encoded = cjson.encode(entry)
redis.call('set', KEYS[1], encoded, 'KEEPTTL')
return encoded
"""


class _RedisSubscription(Subscription):
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def next(self, timeout_s: float) -> Optional[Dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (left := deadline - loop.time()) > 0:
            raw = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if raw is not None and raw.get("type") == "message":
                return json.loads(raw["data"])
        return None

    async def close(self) -> None:
        await self._pubsub.unsubscribe()
        await self._pubsub.close()


class RedisHandoffStore(HandoffStore):
    """Entries as JSON strings, the queue as a set of sender ids, live fan-out by pub/sub."""

    def __init__(self, client: "redis_asyncio.Redis", key_prefix: str = "rexian:handoff:") -> None:
        self._redis = client
        self._prefix = key_prefix
        self._claim = client.register_script(_CLAIM)

    @classmethod
    def from_url(cls, url: str, key_prefix: str = "rexian:handoff:") -> "RedisHandoffStore":
        client = redis_asyncio.Redis.from_url(url, socket_connect_timeout=2, decode_responses=True)
        return cls(client, key_prefix)

    def _entry(self, sender_id: str) -> str:
        return f"{self._prefix}entry:{sender_id}"

    async def add(self, handoff: Handoff) -> Handoff:
        created = await self._redis.set(self._entry(handoff.sender_id), handoff.to_json(), nx=True, ex=TTL_S)
        if created:
            await self._redis.sadd(self._prefix + "all", handoff.sender_id)
            return handoff
        existing = await self.get(handoff.sender_id)
        return existing or handoff

    async def get(self, sender_id: str) -> Optional[Handoff]:
        raw = await self._redis.get(self._entry(sender_id))
        return Handoff.from_json(raw) if raw else None

    async def all(self) -> List[Handoff]:
        senders = sorted(await self._redis.smembers(self._prefix + "all"))
        if not senders:
            return []
        raws = await self._redis.mget([self._entry(s) for s in senders])
        gone = [s for s, raw in zip(senders, raws, strict=True) if raw is None]
        if gone:  # expired entries
            await self._redis.srem(self._prefix + "all", *gone)
        return queue_order([Handoff.from_json(raw) for raw in raws if raw])

    async def claim(self, sender_id: str, operator: str, now: float) -> Handoff:
        result = await self._claim(keys=[self._entry(sender_id)], args=[operator, repr(now)])
        if not result:
            raise HandoffNotFound(sender_id)
        if result.startswith("held:"):
            raise AlreadyClaimed(result[len("held:") :])
        return _from_lua(result)

    async def save(self, handoff: Handoff) -> None:
        await self._redis.set(self._entry(handoff.sender_id), handoff.to_json(), xx=True, keepttl=True)

    async def remove(self, sender_id: str) -> Optional[Handoff]:
        async with self._redis.pipeline(transaction=True) as pipe:
            raw, _, _ = (
                await pipe.get(self._entry(sender_id))
                .delete(self._entry(sender_id))
                .srem(self._prefix + "all", sender_id)
                .execute()
            )
        return Handoff.from_json(raw) if raw else None

    async def first_sight(self, key: str, ttl_s: float) -> bool:
        return bool(
            await self._redis.set(f"{self._prefix}seen:{key}", "1", nx=True, px=max(1, int(ttl_s * 1000)))
        )

    async def publish(self, message: Dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + "live", json.dumps(message, ensure_ascii=False))

    async def subscribe(self) -> Subscription:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._prefix + "live")
        return _RedisSubscription(pubsub)

    async def close(self) -> None:
        await self._redis.close()
        await self._redis.connection_pool.disconnect()


def _from_lua(raw: str) -> Handoff:
    """cjson writes an empty dict as [] and drops nulls; restore the dataclass's shape."""
    data = json.loads(raw)
    if not isinstance(data.get("draft"), dict):
        data["draft"] = {}
    return Handoff(**data)


def create_handoff_store(setting: Optional[str]) -> HandoffStore:
    """The store named by ``HANDOFF_STORE`` (``in_memory`` or a redis URL).

    Raises:
        ValueError: for any other setting, so a typo fails at start-up.
    """
    value = (setting or "").strip()
    if value in ("", "in_memory", "memory"):
        return InMemoryHandoffStore()
    if value.startswith(("redis://", "rediss://", "unix://")):
        return RedisHandoffStore.from_url(value)
    raise ValueError(f"unknown hand-off store {value!r}: use 'in_memory' or a redis:// URL")
