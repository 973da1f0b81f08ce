"""The hand-off store contract, over the in-memory store and a real Redis server."""

from __future__ import annotations

import asyncio

import pytest

from desk.handoff.store import HELD, WAITING, AlreadyClaimed, Handoff, HandoffNotFound, HandoffStore


def _entry(sender: str, at: float, priority: int = 0) -> Handoff:
    return Handoff(sender_id=sender, channel="webchat", reason="explicit", enqueued_at=at, priority=priority)


async def test_queue_order_is_urgent_first_then_oldest(store: HandoffStore) -> None:
    await store.add(_entry("b", 2.0))
    await store.add(_entry("a", 1.0))
    await store.add(_entry("urgent", 3.0, priority=1))
    assert [h.sender_id for h in await store.all()] == ["urgent", "a", "b"]


async def test_adding_twice_keeps_the_first_entry(store: HandoffStore) -> None:
    await store.add(_entry("a", 1.0))
    again = await store.add(_entry("a", 5.0))
    assert again.enqueued_at == 1.0 and len(await store.all()) == 1


async def test_exactly_one_of_two_operators_wins_a_claim(store: HandoffStore) -> None:
    await store.add(_entry("a", 1.0))
    results = await asyncio.gather(
        store.claim("a", "wangmin", 10.0), store.claim("a", "lijing", 10.0), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Handoff)]
    losers = [r for r in results if isinstance(r, AlreadyClaimed)]
    assert len(winners) == 1 and len(losers) == 1
    held = await store.get("a")
    assert held is not None and held.state == HELD and held.operator == winners[0].operator
    assert held.claimed_at == 10.0 and held.draft == {}
    again = await store.claim("a", held.operator, 20.0)  # the holder may claim again
    assert again.claimed_at == 10.0 and again.operator_seen_at == 20.0


async def test_claiming_nothing_is_not_found(store: HandoffStore) -> None:
    with pytest.raises(HandoffNotFound):
        await store.claim("nobody", "wangmin", 1.0)


async def test_save_and_remove(store: HandoffStore) -> None:
    entry = _entry("a", 1.0)
    entry.draft = {"description": "路灯坏了"}
    await store.add(entry)
    await store.claim("a", "wangmin", 2.0)
    held = await store.get("a")
    assert held is not None
    held.state, held.operator, held.note = WAITING, None, "客服连接中断"
    await store.save(held)
    back = await store.get("a")
    assert back is not None and back.state == WAITING and back.note == "客服连接中断"
    assert back.draft == {"description": "路灯坏了"}
    removed = await store.remove("a")
    assert removed is not None and await store.get("a") is None and await store.all() == []
    await store.save(_entry("ghost", 1.0))  # saving what is not there creates nothing
    assert await store.get("ghost") is None


async def test_published_messages_reach_every_subscriber(store: HandoffStore) -> None:
    first, second = await store.subscribe(), await store.subscribe()
    try:
        await store.publish({"type": "message", "text": "您好"})
        for subscription in (first, second):
            message = await subscription.next(2.0)
            assert message == {"type": "message", "text": "您好"}
        assert await first.next(0.1) is None
    finally:
        await first.close()
        await second.close()


async def test_first_sight_is_true_once(store: HandoffStore) -> None:
    assert await store.first_sight("web-1:m1", 60) is True
    assert await store.first_sight("web-1:m1", 60) is False
    assert await store.first_sight("web-1:m2", 60) is True
