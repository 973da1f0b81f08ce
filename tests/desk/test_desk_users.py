"""Desk accounts: the admin API, roles, and the command line."""

from __future__ import annotations

from pathlib import Path

from desk.users import main as users_cli
from tests.desk.conftest import ADMIN


async def _token(client, username: str, password: str) -> dict:
    response = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def test_an_admin_adds_an_operator_who_can_then_log_in(client) -> None:
    admin = await _token(client, ADMIN["username"], ADMIN["password"])
    created = await client.post(
        "/api/users",
        json={"username": "wangmin", "password": "duty-pass-123", "role": "operator"},
        headers=admin,
    )
    assert created.status == 201
    operator = await _token(client, "wangmin", "duty-pass-123")
    listed = await (await client.get("/api/users", headers=admin)).json()
    assert {u["username"]: u["role"] for u in listed} == {"admin": "admin", "wangmin": "operator"}
    assert (await client.get("/api/users", headers=operator)).status == 403
    taken = await client.post(
        "/api/users", json={"username": "wangmin", "password": "another-pass-1"}, headers=admin
    )
    assert taken.status == 409
    short = await client.post("/api/users", json={"username": "li", "password": "short"}, headers=admin)
    assert short.status == 422
    changed = await client.post(
        "/api/users/wangmin/password", json={"password": "new-duty-pass-1"}, headers=operator
    )
    assert changed.status == 200
    await _token(client, "wangmin", "new-duty-pass-1")
    other = await client.post(
        "/api/users/admin/password", json={"password": "hijack-pass-1"}, headers=operator
    )
    assert other.status == 403
    assert (await client.post("/api/users", json={})).status == 401


def test_the_command_line_adds_and_lists_accounts(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'desk.db'}")
    monkeypatch.setenv("DESK_NEW_PASSWORD", "cli-pass-12345")
    assert users_cli(["add", "zhaolei", "--role", "admin"]) == 0
    assert users_cli(["add", "zhaolei"]) == 1
    assert users_cli(["list"]) == 0
    assert "zhaolei\tadmin" in capsys.readouterr().out
    monkeypatch.setenv("DESK_NEW_PASSWORD", "short")
    assert users_cli(["password", "zhaolei"]) == 2
