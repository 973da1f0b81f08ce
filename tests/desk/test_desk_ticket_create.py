"""Creating tickets: routing by the city profile, SLA deadlines, ids and idempotency."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest

from desk.city.profile import load_profile
from desk.db import make_engine, migrate
from desk.dispatch.classifier import Dispatcher
from desk.tickets.repository import TicketRepository
from desk.tickets.schema import TicketIn
from desk.tickets.service import TicketService

PROFILE = load_profile()
TICKET_ID = re.compile(r"^SF\d{12}$")
CONTRACT_FIELDS = {
    "id",
    "sender_id",
    "channel",
    "type",
    "category",
    "scenario",
    "owner",
    "district",
    "street",
    "location",
    "occurred_at",
    "description",
    "phone",
    "status",
    "created_at",
    "respond_by",
    "resolve_by",
    "history",
}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "description, category, scenario, owner",
    [
        ("小区门口的烧烤摊天天占道经营，晚上烟熏火燎", "city_management", "street_vendor", "URBAN"),
        ("楼上装修电钻声音太吵", "noise", "renovation", "STREET"),
        ("工地晚上还在施工，吵得睡不着", "noise", "construction_night", "HOUSING"),
        ("白塔街道人民公园广场舞音响太大了", "noise", "square_dance", "PSB"),
    ],
)
async def test_create_routes_by_city_profile(
    client, create_ticket, sender_id, description, category, scenario, owner
):
    resp = await client.post(
        "/api/tickets",
        json={"sender_id": sender_id, "description": description, "phone": "13912345678"},
    )

    assert resp.status == 201
    ticket = await resp.json()
    assert CONTRACT_FIELDS <= ticket.keys()
    assert TICKET_ID.match(ticket["id"]), ticket["id"]
    assert (ticket["category"], ticket["scenario"], ticket["owner"]) == (category, scenario, owner)
    assert ticket["owner_name"] == PROFILE.departments[owner]
    assert ticket["sender_id"] == sender_id
    assert ticket["description"] == description
    assert ticket["phone"] == "139****5678"
    assert ticket["status"] == "dispatched"


@pytest.mark.asyncio
async def test_create_resolves_district_and_street(client, create_ticket):
    ticket = await create_ticket(client, "白塔街道人民公园广场舞音响太大了")

    assert ticket["district"] == "城西区"
    assert ticket["street"] == "白塔街道"
    assert ticket["location"].startswith("白塔街道人民公园")


def _hours(later: str, earlier: str) -> float:
    delta = datetime.fromisoformat(later) - datetime.fromisoformat(earlier)
    return delta.total_seconds() / 3600


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "description, rtype",
    [
        ("楼上装修电钻声音太吵", "complaint"),
        ("家里有很浓的煤气味，好像燃气泄漏了", "urgent"),
        ("建议在幸福路增设一个公交站", "suggestion"),
    ],
)
async def test_sla_deadlines_follow_request_type(client, create_ticket, description, rtype):
    ticket = await create_ticket(client, description)

    sla = PROFILE.request_types[rtype]
    assert ticket["type"] == rtype
    created = datetime.fromisoformat(ticket["created_at"])
    assert created.utcoffset() == timedelta(hours=8)  # the city's local time
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=5)
    assert _hours(ticket["respond_by"], ticket["created_at"]) == sla.respond_h
    assert _hours(ticket["resolve_by"], ticket["created_at"]) == sla.resolve_h


@pytest.mark.asyncio
async def test_history_records_creation_and_dispatch(client, create_ticket):
    ticket = await create_ticket(client, "小区门口的烧烤摊天天占道经营", channel="wechat")

    statuses = [entry["status"] for entry in ticket["history"]]
    assert statuses == ["created", "dispatched"]
    created, dispatched = ticket["history"]
    assert created["actor"] == "wechat"
    assert created["at"] == ticket["created_at"]
    assert dispatched["actor"] == "dispatcher"
    assert PROFILE.departments["URBAN"] in dispatched["note"]


@pytest.mark.asyncio
async def test_undispatchable_text_waits_for_manual_dispatch(client, create_ticket):
    ticket = await create_ticket(client, "我想反映一个情况，具体的说不清楚")

    assert ticket["status"] == "pending_dispatch"
    assert ticket["owner"] is None and ticket["owner_name"] is None
    assert [e["status"] for e in ticket["history"]] == ["created", "pending_dispatch"]


@pytest.mark.asyncio
async def test_explicit_scenario_overrides_classifier(client, create_ticket):
    ticket = await create_ticket(
        client, "楼上装修电钻声音太吵", category="noise", scenario="neighbour", type="help"
    )

    assert (ticket["category"], ticket["scenario"], ticket["owner"]) == (
        "noise",
        "neighbour",
        "PSB",
    )
    assert ticket["type"] == "help"


@pytest.mark.asyncio
@pytest.mark.parametrize("fields", [{"category": "noise", "scenario": "nope"}, {"type": "praise"}])
async def test_unknown_scenario_or_type_is_rejected(client, sender_id, fields):
    resp = await client.post(
        "/api/tickets", json={"sender_id": sender_id, "description": "楼上装修太吵", **fields}
    )

    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "invalid_input"


@pytest.mark.asyncio
async def test_anonymous_contact_stores_no_phone(client, create_ticket):
    ticket = await create_ticket(client, "楼上装修电钻声音太吵", phone="13912345678", contact_anonymous=True)

    assert ticket["phone"] is None
    assert ticket["contact_anonymous"] is True


@pytest.mark.asyncio
async def test_ids_count_up_within_a_day(client, create_ticket):
    tickets = [await create_ticket(client, f"路灯不亮第{n}次反映") for n in range(3)]

    ids = [t["id"] for t in tickets]
    for ticket in tickets:
        assert ticket["id"][2:10] == ticket["created_at"][:10].replace("-", "")
    if len({i[:10] for i in ids}) == 1:  # not across local midnight
        assert [int(i[10:]) for i in ids] == [1, 2, 3]


@pytest.mark.asyncio
async def test_numbering_restarts_each_local_day(database_url):
    """The day of an id is the city's local day (UTC+8), and each day counts from 1."""
    engine = make_engine(database_url)
    try:
        await asyncio.to_thread(migrate, engine)
        moments = iter(
            [
                datetime(2026, 11, 28, 15, 59, 59),  # 23:59:59 local
                datetime(2026, 11, 28, 16, 0, 0),  # 00:00 local, next day
                datetime(2026, 11, 28, 17, 0, 0),
                datetime(2026, 11, 28, 4, 0, 0),  # the 28th again: its own counter
            ]
        )
        service = TicketService(
            TicketRepository(engine),
            PROFILE,
            Dispatcher(PROFILE),
            clock=lambda: next(moments),
        )
        ids = []
        for _ in range(4):
            ticket, created = await service.create(TicketIn(sender_id="clock", description="路灯不亮"))
            assert created
            ids.append(ticket["id"])
    finally:
        engine.dispose()

    assert ids == [
        "SF202611280001",
        "SF202611290001",
        "SF202611290002",
        "SF202611280002",
    ]


@pytest.mark.asyncio
async def test_idempotency_key_replay_returns_first_ticket(client, sender_id):
    body = {"sender_id": sender_id, "description": "楼上装修电钻声音太吵", "phone": "139 1234 5678"}
    headers = {"Idempotency-Key": f"key-{sender_id}"}

    first = await client.post("/api/tickets", json=body, headers=headers)
    replay = await client.post("/api/tickets", json=body, headers=headers)

    assert first.status == 201
    assert replay.status == 200
    assert await replay.json() == await first.json()
    listed = await (await client.get("/api/tickets", params={"sender_id": sender_id})).json()
    assert len(listed) == 1


@pytest.mark.asyncio
async def test_idempotency_key_with_other_body_conflicts(client, sender_id):
    headers = {"Idempotency-Key": f"key-{sender_id}"}
    body = {"sender_id": sender_id, "description": "楼上装修电钻声音太吵"}
    first = await client.post("/api/tickets", json=body, headers=headers)

    other = await client.post("/api/tickets", json={**body, "description": "路灯不亮"}, headers=headers)

    assert other.status == 409
    error = (await other.json())["error"]
    assert error["code"] == "conflict"
    assert error["details"]["ticket_id"] == (await first.json())["id"]
    listed = await (await client.get("/api/tickets", params={"sender_id": sender_id})).json()
    assert len(listed) == 1


@pytest.mark.asyncio
async def test_concurrent_retries_create_one_ticket(client, sender_id):
    body = {"sender_id": sender_id, "description": "楼上装修电钻声音太吵"}
    headers = {"Idempotency-Key": f"key-{sender_id}"}

    responses = await asyncio.gather(
        *(client.post("/api/tickets", json=body, headers=headers) for _ in range(5))
    )

    statuses = sorted(r.status for r in responses)
    assert statuses == [200, 200, 200, 200, 201]
    assert len({(await r.json())["id"] for r in responses}) == 1


@pytest.mark.asyncio
async def test_concurrent_creates_get_distinct_ids(client, sender_id):
    responses = await asyncio.gather(
        *(
            client.post("/api/tickets", json={"sender_id": sender_id, "description": f"路灯不亮{n}"})
            for n in range(8)
        )
    )

    assert [r.status for r in responses] == [201] * 8
    assert len({(await r.json())["id"] for r in responses}) == 8
