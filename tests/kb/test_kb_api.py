"""The knowledge-base HTTP API on a small app: desk's error middleware, login and the KB routes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import AsyncIterator, Dict

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from desk.app import error_middleware
from desk.auth import TokenSigner, UserRepository
from desk.auth_routes import routes as auth_routes
from desk.db import make_engine, migrate
from desk.kb.routes import KB, kb_context_for
from desk.kb.routes import routes as kb_routes
from desk.keys import SIGNER, USERS
from tests.kb.conftest import document_text

ADMIN = {"username": "admin", "password": "pw-123456"}
OPERATOR = {"username": "operator", "password": "pw-654321"}


@pytest_asyncio.fixture
async def client(tmp_path: Path, kb_dir: Path) -> AsyncIterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path}/d.db")
    migrate(engine)
    users = UserRepository(engine)
    users.ensure(ADMIN["username"], ADMIN["password"], "admin")
    users.ensure(OPERATOR["username"], OPERATOR["password"], "operator")
    app = web.Application(middlewares=[error_middleware])
    app[SIGNER] = TokenSigner(b"test-secret", 3600)
    app[USERS] = users
    app.cleanup_ctx.append(kb_context_for(kb_dir, embedder="none", cache_dir=tmp_path / "cache"))
    app.router.add_routes(auth_routes)
    app.router.add_routes(kb_routes)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    engine.dispose()


async def _headers(client: TestClient, who: Dict[str, str]) -> Dict[str, str]:
    resp = await client.post("/api/auth/login", json=who)
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def test_kb_api_answers_with_sources_and_confidence(client: TestClient) -> None:
    resp = await client.post("/api/kb/answer", json={"question": "办居住证要带什么材料"})
    body = await resp.json()

    assert resp.status == 200
    assert body["sources"] == [{"id": "permit", "title": "示范市居住证办理指南"}]
    assert "身份证原件" in body["answer"] and 0.5 <= body["confidence"] <= 1.0


async def test_kb_api_follow_up_and_refusal(client: TestClient) -> None:
    follow = await client.post("/api/kb/answer", json={"question": "那要多久？", "context": "permit"})
    refused = await client.post("/api/kb/answer", json={"question": "明天会下雨吗"})

    assert "15个工作日" in (await follow.json())["answer"]
    body = await refused.json()
    assert body["sources"] == [] and "转人工" in body["answer"] and body["confidence"] < 0.5


async def test_kb_api_rejects_bad_questions(client: TestClient) -> None:
    missing = await client.post("/api/kb/answer", json={"context": "permit"})
    not_json = await client.post("/api/kb/answer", data=b"{", headers={"Content-Type": "application/json"})
    too_long = await client.post("/api/kb/answer", json={"question": "问" * 501})

    assert (missing.status, not_json.status, too_long.status) == (422, 400, 422)
    assert (await missing.json())["error"]["code"] == "invalid_input"


async def test_kb_api_lists_documents_and_broken_files(client: TestClient, kb_dir: Path) -> None:
    (kb_dir / "broken.md").write_text("no front matter", encoding="utf-8")
    client.server.app[KB].refresh(force=True)

    body = await (await client.get("/api/kb/documents")).json()

    loans = {d["id"]: d for d in body["documents"] if d["id"].startswith("loan")}
    assert set(loans["loan-2025"]) >= {"id", "title", "effective", "expires", "in_force"}
    assert loans["loan-2025"]["in_force"] is False and loans["loan-2026"]["in_force"] is True
    assert body["errors"] == [
        {"file": "broken.md", "reason": "missing YAML front matter between '---' lines at the top"}
    ]


async def test_kb_api_upload_needs_an_admin(client: TestClient, kb_dir: Path) -> None:
    text = document_text("heating.md").replace("id: heating", "id: heating-2")
    anonymous = await client.post("/api/kb/documents", data=text.encode())
    operator = await client.post(
        "/api/kb/documents", data=text.encode(), headers=await _headers(client, OPERATOR)
    )

    assert (anonymous.status, operator.status) == (401, 403)
    assert not (kb_dir / "heating-2.md").exists()


async def test_kb_api_upload_markdown_and_json(client: TestClient, kb_dir: Path) -> None:
    admin = await _headers(client, ADMIN)
    markdown = document_text("permit.md").replace("id: permit", "id: permit-2").replace("15个", "9个")

    created = await client.post("/api/kb/documents", data=markdown.encode(), headers=admin)
    replaced = await client.post(
        "/api/kb/documents",
        json={"filename": "permit-2.md", "content": markdown.replace("9个", "8个")},
        headers=admin,
    )

    assert created.status == 201 and (await created.json())["id"] == "permit-2"
    assert replaced.status == 200
    assert "8个工作日" in (kb_dir / "permit-2.md").read_text(encoding="utf-8")


async def test_kb_api_upload_rejects_invalid_documents_with_reasons(client: TestClient, kb_dir: Path) -> None:
    admin = await _headers(client, ADMIN)
    bad_dates = document_text("permit.md").replace("expires: null", "expires: 2020-01-01")
    duplicate = {"filename": "copy.md", "content": document_text("permit.md")}
    bad_name = {"filename": "../evil.md", "content": document_text("permit.md")}

    responses = [
        await client.post("/api/kb/documents", data=bad_dates.encode(), headers=admin),
        await client.post("/api/kb/documents", json=duplicate, headers=admin),
        await client.post("/api/kb/documents", json=bad_name, headers=admin),
    ]

    assert [r.status for r in responses] == [422, 422, 422]
    details = [(await r.json())["error"]["details"] for r in responses]
    assert "expires must not be earlier than effective" in details[0]["reason"]
    assert details[1] == {"file": "copy.md", "reason": "duplicate id 'permit' (already used by permit.md)"}
    assert details[2]["file"] == "../evil.md"
    assert not (kb_dir / "copy.md").exists() and not (kb_dir.parent / "evil.md").exists()


async def test_kb_api_delete(client: TestClient, kb_dir: Path) -> None:
    admin = await _headers(client, ADMIN)

    anonymous = await client.delete("/api/kb/documents/heating")
    deleted = await client.delete("/api/kb/documents/heating", headers=admin)
    again = await client.delete("/api/kb/documents/heating", headers=admin)
    answer = await client.post("/api/kb/answer", json={"question": "暖气不热打什么电话"})

    assert (anonymous.status, deleted.status, again.status) == (401, 204, 404)
    assert not (kb_dir / "heating.md").exists()
    assert json.loads(await answer.text())["sources"] == []
