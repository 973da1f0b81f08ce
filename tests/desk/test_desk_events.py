"""Conversation events posted by Rasa's broker: authentication, parsing, fan-out."""

from __future__ import annotations

from pathlib import Path
from typing import List

from desk.events import EVENT_BUS, ConversationEvent

USER_EVENT = {
    "sender_id": "web-abc",
    "event": "user",
    "timestamp": 1_764_300_000.5,
    "text": "楼下太吵了",
    "input_channel": "webchat",
    "parse_data": {"intent": {"name": "complain", "confidence": 0.42}},
}
BOT_EVENT = {
    "sender_id": "web-abc",
    "event": "bot",
    "timestamp": 1_764_300_001.0,
    "text": "您好，我是人工客服",
    "data": {"custom": {"operator": "王敏"}},
}


async def _client(make_client, tmp_path: Path, **settings):
    return await make_client(f"sqlite:///{tmp_path / 'desk.db'}", **settings)


async def test_events_reach_subscribers_in_order(make_client, tmp_path: Path) -> None:
    client = await _client(make_client, tmp_path, events_token="t0ken-for-tests")
    seen: List[ConversationEvent] = []

    async def collect(events: List[ConversationEvent]) -> None:
        seen.extend(events)

    client.app[EVENT_BUS].subscribe(collect)
    body = {"events": [USER_EVENT, {"event": "action", "sender_id": "web-abc"}, BOT_EVENT, "junk"]}
    response = await client.post(
        "/api/rasa/events", json=body, headers={"Authorization": "Bearer t0ken-for-tests"}
    )
    assert response.status == 202 and (await response.json()) == {"accepted": 2}
    assert [e.kind for e in seen] == ["user", "bot"]
    assert (seen[0].intent, seen[0].confidence, seen[0].channel) == ("complain", 0.42, "webchat")
    assert seen[1].as_dict()["operator"] == "王敏"


async def test_a_wrong_or_missing_token_is_refused(make_client, tmp_path: Path) -> None:
    client = await _client(make_client, tmp_path, events_token="t0ken-for-tests")
    assert (await client.post("/api/rasa/events", json={"events": []})).status == 401
    wrong = await client.post(
        "/api/rasa/events", json={"events": []}, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status == 401


async def test_without_a_token_only_loopback_may_post(make_client, tmp_path: Path) -> None:
    client = await _client(make_client, tmp_path)
    assert (await client.post("/api/rasa/events", json={"events": [USER_EVENT]})).status == 202
    forwarded = await client.post(
        "/api/rasa/events", json={"events": []}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert forwarded.status == 202  # aiohttp's remote is the socket peer, not a header


async def test_bad_bodies_are_refused(make_client, tmp_path: Path) -> None:
    client = await _client(make_client, tmp_path)
    assert (await client.post("/api/rasa/events", data=b"not json")).status == 400
    assert (await client.post("/api/rasa/events", json={"events": "x"})).status == 400
    assert (await client.post("/api/rasa/events", json={"events": [USER_EVENT] * 501})).status == 400
