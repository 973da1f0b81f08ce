"""Reading and listing tickets, input validation, persistence, /health and /api/classify."""

from __future__ import annotations

import json

import pytest

from desk.keys import SETTINGS

CLASSIFY_KEYS = {
    "category",
    "scenario",
    "owner",
    "type",
    "urgent",
    "district",
    "street",
    "confidence",
}


async def _error(resp) -> dict:
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["error"]["message"], body
    return body["error"]


def _reasons(error: dict) -> dict:
    return {f["field"]: f["reason"] for f in error["details"]["fields"]}


# -- reading -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_returns_the_stored_ticket(client, create_ticket):
    created = await create_ticket(client, "楼上装修电钻声音太吵", phone="13912345678")

    resp = await client.get(f"/api/tickets/{created['id']}")

    assert resp.status == 200
    assert await resp.json() == created


@pytest.mark.asyncio
async def test_get_unknown_id_is_404_json(client):
    resp = await client.get("/api/tickets/SF209901010001")

    assert resp.status == 404
    error = await _error(resp)
    assert error["code"] == "not_found"
    assert error["details"]["ticket_id"] == "SF209901010001"


@pytest.mark.asyncio
async def test_list_by_sender_newest_first_and_only_theirs(client, create_ticket, sender_id):
    mine = [(await create_ticket(client, f"路灯不亮第{n}次"))["id"] for n in range(3)]
    other = await client.post(
        "/api/tickets", json={"sender_id": f"{sender_id}-other", "description": "路灯不亮"}
    )
    assert other.status == 201

    resp = await client.get("/api/tickets", params={"sender_id": sender_id})

    assert resp.status == 200
    listed = await resp.json()
    assert [t["id"] for t in listed] == list(reversed(mine))
    assert {t["sender_id"] for t in listed} == {sender_id}
    assert all(t["history"] for t in listed)

    limited = await (await client.get("/api/tickets", params={"sender_id": sender_id, "limit": "2"})).json()
    assert [t["id"] for t in limited] == list(reversed(mine))[:2]


@pytest.mark.asyncio
async def test_list_of_unknown_sender_is_empty(client):
    resp = await client.get("/api/tickets", params={"sender_id": "nobody-here"})

    assert resp.status == 200
    assert await resp.json() == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "query",
    ["", "?sender_id=", "?sender_id=%20%20", "?sender_id=a&limit=x", "?sender_id=a&limit=0"],
)
async def test_list_needs_sender_id_and_a_sane_limit(sqlite_client, query):
    resp = await sqlite_client.get(f"/api/tickets{query}")

    assert resp.status == 400
    assert (await _error(resp))["code"] == "bad_request"


# -- bad input -----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body", [b"not json", b"", b'{"sender_id": "a",', "[1, 2]".encode(), b'"text"', b"\xff\xfe{"]
)
async def test_body_that_is_not_a_json_object_is_400(sqlite_client, body):
    resp = await sqlite_client.post("/api/tickets", data=body, headers={"Content-Type": "application/json"})

    assert resp.status == 400
    assert (await _error(resp))["code"] == "bad_request"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body, field",
    [
        ({"sender_id": "a", "description": ""}, "description"),
        ({"sender_id": "a", "description": "   \n "}, "description"),
        ({"sender_id": "a"}, "description"),
        ({"description": "路灯不亮"}, "sender_id"),
        ({"sender_id": "a", "description": "路灯不亮", "priority": "high"}, "priority"),
        ({"sender_id": "a", "description": "x" * 20_001}, "description"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(client, body, field):
    resp = await client.post("/api/tickets", json=body)

    assert resp.status == 422
    error = await _error(resp)
    assert error["code"] == "invalid_input"
    assert field in _reasons(error)
    listed = await (await client.get("/api/tickets", params={"sender_id": "a"})).json()
    assert listed == []


@pytest.mark.asyncio
async def test_long_description_is_stored_intact(client, create_ticket):
    unit = "幸福小区3栋楼下烧烤摊占道经营，油烟很大。Line\t2! "
    description = (unit * (10_000 // len(unit) + 1))[:9_999] + "尾"
    assert len(description) == 10_000

    created = await create_ticket(client, description)
    fetched = await (await client.get(f"/api/tickets/{created['id']}")).json()

    assert created["description"] == description
    assert fetched["description"] == description


@pytest.mark.asyncio
async def test_body_over_size_limit_is_413(sqlite_client):
    limit = sqlite_client.app[SETTINGS].max_body_bytes
    body = json.dumps({"sender_id": "a", "description": "吵" * limit}).encode()
    assert len(body) > limit

    resp = await sqlite_client.post("/api/tickets", data=body, headers={"Content-Type": "application/json"})

    assert resp.status == 413
    assert (await _error(resp))["code"] == "too_large"


@pytest.mark.asyncio
@pytest.mark.parametrize("phone", ["1391234567", "139123456789", "139 1234 567"])
async def test_invalid_phone_is_422_with_reason(client, sender_id, phone):
    resp = await client.post(
        "/api/tickets",
        json={"sender_id": sender_id, "description": "路灯不亮", "phone": phone},
    )

    assert resp.status == 422
    assert "11位" in _reasons(await _error(resp))["phone"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "typed, masked",
    [
        ("139 1234 5678", "139****5678"),
        ("139-1234-5678", "139****5678"),
        ("+86 139 1234 5678", "139****5678"),
        ("0571-88886666", "0571****66"),
        ("(0571) 8888 6666", "0571****66"),
        ("88886666", "******66"),
        ("", None),
    ],
)
async def test_phones_as_typed_are_accepted_and_masked(client, create_ticket, typed, masked):
    ticket = await create_ticket(client, "路灯不亮", phone=typed)

    assert ticket["phone"] == masked
    fetched = await (await client.get(f"/api/tickets/{ticket['id']}")).json()
    assert fetched["phone"] == masked


# -- persistence -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_tickets_survive_a_restart(make_client, database_url, sender_id):
    first = await make_client(database_url)
    resp = await first.post(
        "/api/tickets",
        json={"sender_id": sender_id, "description": "楼上装修电钻声音太吵"},
        headers={"Idempotency-Key": f"key-{sender_id}"},
    )
    created = await resp.json()
    await first.close()

    second = await make_client(database_url)
    fetched = await second.get(f"/api/tickets/{created['id']}")
    listed = await (await second.get("/api/tickets", params={"sender_id": sender_id})).json()
    replay = await second.post(
        "/api/tickets",
        json={"sender_id": sender_id, "description": "楼上装修电钻声音太吵"},
        headers={"Idempotency-Key": f"key-{sender_id}"},
    )
    after_resp = await second.post("/api/tickets", json={"sender_id": sender_id, "description": "路灯不亮"})
    after = await after_resp.json()

    assert fetched.status == 200
    assert await fetched.json() == created
    assert [t["id"] for t in listed] == [created["id"]]
    assert replay.status == 200
    assert after["id"] > created["id"]  # the day counter survived too


# -- health and classify -------------------------------------------------------------


@pytest.mark.asyncio
async def test_health(sqlite_client):
    resp = await sqlite_client.get("/health")

    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == {"status": "ok", "service": "desk", "city": "shifan"}


async def _classify(client, text: str, **extra: str) -> dict:
    resp = await client.post("/api/classify", json={"text": text, **extra})
    assert resp.status == 200, await resp.text()
    result = await resp.json()
    assert CLASSIFY_KEYS <= result.keys()
    return result


@pytest.mark.asyncio
@pytest.mark.parametrize("text", ["请问居住证怎么办理", "你好"])
async def test_classify_questions_and_chitchat_dispatch_nothing(sqlite_client, text):
    result = await _classify(sqlite_client, text)

    assert (result["category"], result["scenario"], result["owner"]) == (None, None, None)
    assert result["type"] == "consult"
    assert result["urgent"] is False


@pytest.mark.asyncio
async def test_classify_gas_leak_is_urgent(sqlite_client):
    result = await _classify(sqlite_client, "家里有很浓的煤气味，好像燃气泄漏了")

    assert result["urgent"] is True
    assert result["type"] == "urgent"
    assert (result["category"], result["scenario"], result["owner"]) == (
        "utilities",
        "gas_leak",
        "GAS",
    )
    assert 0 < result["confidence"] <= 1


@pytest.mark.asyncio
async def test_classify_normalises_street_to_district(sqlite_client):
    result = await _classify(sqlite_client, "东湖街道幸福小区门口的路灯不亮")

    assert (result["district"], result["street"]) == ("城东区", "东湖街道")
    assert result["owner"] == "URBAN"


@pytest.mark.asyncio
async def test_classify_uses_the_given_location(sqlite_client):
    result = await _classify(sqlite_client, "路灯不亮", location="东湖街道幸福小区")

    assert (result["district"], result["street"]) == ("城东区", "东湖街道")


@pytest.mark.asyncio
async def test_classify_rejects_unknown_fields(sqlite_client):
    resp = await sqlite_client.post("/api/classify", json={"text": "你好", "lang": "zh"})

    assert resp.status == 422
    assert "lang" in _reasons(await _error(resp))
