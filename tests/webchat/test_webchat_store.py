"""The web chat store contract, over the in-memory store and a real Redis server."""

from __future__ import annotations

import pytest

from bot.channels.webchat_store import OUTBOX_LIMIT, WebChatStore, create_webchat_store


async def test_append_numbers_messages_per_conversation(store: WebChatStore) -> None:
    first = await store.append("web-a", {"type": "bot", "text": "一"})
    second = await store.append("web-a", {"type": "bot", "text": "二"})
    other = await store.append("web-b", {"type": "bot", "text": "别人的"})
    assert (first["seq"], second["seq"], other["seq"]) == (1, 2, 1)
    assert [m["text"] for m in await store.since("web-a", 0)] == ["一", "二"]
    assert [m["text"] for m in await store.since("web-a", 1)] == ["二"]
    assert await store.since("web-a", 2) == []


async def test_subscribers_get_messages_appended_after_subscribing(store: WebChatStore) -> None:
    await store.append("web-a", {"type": "bot", "text": "之前"})
    subscription = await store.subscribe("web-a")
    try:
        await store.append("web-b", {"type": "bot", "text": "别人的"})
        await store.append("web-a", {"type": "bot", "text": "之后"})
        message = await subscription.next(2.0)
        assert message is not None and message["text"] == "之后" and message["seq"] == 2
        assert await subscription.next(0.1) is None
    finally:
        await subscription.close()


async def test_claim_is_true_once(store: WebChatStore) -> None:
    assert await store.claim("web-a:m1", 60) is True
    assert await store.claim("web-a:m1", 60) is False
    assert await store.claim("web-a:m2", 60) is True


async def test_outbox_keeps_the_latest_messages(store: WebChatStore) -> None:
    for n in range(OUTBOX_LIMIT + 5):
        await store.append("web-a", {"type": "bot", "text": str(n)})
    kept = await store.since("web-a", 0)
    assert len(kept) == OUTBOX_LIMIT
    assert kept[-1]["seq"] == OUTBOX_LIMIT + 5 and kept[0]["seq"] == 6


def test_factory_refuses_unknown_settings() -> None:
    with pytest.raises(ValueError, match="unknown web chat store"):
        create_webchat_store("postgres://nope")
