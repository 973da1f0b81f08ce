"""Operators log in, see full phones, and reassign tickets; reassignments become training data."""

from __future__ import annotations

import pytest

from desk.keys import TICKETS
from tests.desk.conftest import ADMIN


@pytest.mark.asyncio
async def test_login_rejects_a_wrong_password(client):
    resp = await client.post("/api/auth/login", json={"username": ADMIN["username"], "password": "nope"})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"


@pytest.mark.asyncio
async def test_patch_needs_an_operator(client, create_ticket):
    ticket = await create_ticket(client, "路灯不亮")
    resp = await client.patch(f"/api/tickets/{ticket['id']}", json={"owner": "URBAN"})
    assert resp.status == 401
    resp = await client.patch(
        f"/api/tickets/{ticket['id']}",
        json={"owner": "URBAN"},
        headers={"Authorization": "Bearer forged.sig"},
    )
    assert resp.status == 401


@pytest.mark.asyncio
async def test_operator_sees_the_full_phone(client, create_ticket, operator_headers):
    ticket = await create_ticket(client, "路灯不亮", phone="13912345678")
    assert ticket["phone"] == "139****5678"
    resp = await client.get(f"/api/tickets/{ticket['id']}", headers=operator_headers)
    assert (await resp.json())["phone"] == "13912345678"


@pytest.mark.asyncio
async def test_reassignment_is_recorded_and_kept_as_training_data(client, create_ticket, operator_headers):
    ticket = await create_ticket(client, "我想反映一个情况，具体的说不清楚")
    assert ticket["status"] == "pending_dispatch" and ticket["owner"] is None

    resp = await client.patch(
        f"/api/tickets/{ticket['id']}",
        json={"scenario": "noise.renovation", "note": "来电核实为楼上装修"},
        headers=operator_headers,
    )
    assert resp.status == 200, await resp.text()
    updated = await resp.json()
    assert (updated["owner"], updated["category"], updated["scenario"]) == ("STREET", "noise", "renovation")
    assert updated["status"] == "dispatched"
    last = updated["history"][-1]
    assert last["actor"] == ADMIN["username"]
    assert "属地街道办事处" in last["note"] and "来电核实为楼上装修" in last["note"]

    corrections = await client.server.app[TICKETS].corrections()
    assert [(c.text, c.label) for c in corrections] == [(ticket["description"], "noise.renovation")]

    resp = await client.post("/api/dispatch/retrain", headers=operator_headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json()) == {"learned": True, "corrections": 1}


@pytest.mark.asyncio
async def test_type_change_moves_the_deadlines(client, create_ticket, operator_headers):
    ticket = await create_ticket(client, "小区门口烧烤摊占道经营")
    resp = await client.patch(
        f"/api/tickets/{ticket['id']}", json={"type": "urgent"}, headers=operator_headers
    )
    updated = await resp.json()
    assert updated["type"] == "urgent" and updated["urgent"] is True
    assert updated["resolve_by"] < ticket["resolve_by"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "change",
    [{"scenario": "noise.nothing"}, {"owner": "NOBODY"}, {"type": "whatever"}, {"status": "lost"}, {}],
)
async def test_bad_changes_are_rejected(client, create_ticket, operator_headers, change):
    ticket = await create_ticket(client, "路灯不亮")
    resp = await client.patch(f"/api/tickets/{ticket['id']}", json=change, headers=operator_headers)
    assert resp.status == 422


@pytest.mark.asyncio
async def test_patch_unknown_ticket_is_404(client, operator_headers):
    resp = await client.patch(
        "/api/tickets/SF209901010001", json={"owner": "URBAN"}, headers=operator_headers
    )
    assert resp.status == 404


@pytest.mark.asyncio
async def test_retrain_is_for_admins_only(client):
    resp = await client.post("/api/dispatch/retrain")
    assert resp.status == 401
