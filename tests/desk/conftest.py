"""Fixtures of the desk tests: a desk app on SQLite and on a real PostgreSQL server.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local server with trust auth).
Each test session creates its own database there and drops it at the end; each test
starts from an empty schema. Without a reachable server the PostgreSQL cases are
skipped, unless REXIAN_REQUIRE_SERVICES=1, when they fail instead.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Dict, Iterator, List

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from desk.app import create_app
from desk.settings import Settings

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN = {"username": "admin", "password": "s3cret-test-pass"}

ClientFactory = Callable[..., Awaitable[TestClient]]


def _services_required() -> bool:
    return os.environ.get("REXIAN_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a fresh, uniquely named database for this session; dropped afterwards."""
    admin_url = make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"rexian_desk_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    except Exception as exc:  # unreachable server, bad credentials, no CREATEDB right
        admin.dispose()
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        reason = f"PostgreSQL at {admin_url.render_as_string()} is not usable: {detail}"
        if _services_required():
            pytest.fail(f"REXIAN_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        if conn.dialect.server_version_info >= (13,):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def _reset_postgres_schema(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind desk supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.db'}"
    url = request.getfixturevalue("postgres_server_url")
    _reset_postgres_schema(url)
    return url


@pytest_asyncio.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Starts desk apps on a database; every one still open is closed at the end."""
    clients: List[TestClient] = []

    async def start(url: str, **overrides: object) -> TestClient:
        settings = dict(
            database_url=url,
            city_profile=None,
            admin_user=ADMIN["username"],
            admin_password=ADMIN["password"],
        )
        app = create_app(Settings(**{**settings, **overrides}))
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


@pytest_asyncio.fixture
async def client(make_client: ClientFactory, database_url: str) -> TestClient:
    """A desk app on each database; use it for everything that touches storage."""
    return await make_client(database_url)


@pytest_asyncio.fixture
async def sqlite_client(make_client: ClientFactory, tmp_path: Path) -> TestClient:
    """A desk app on SQLite only, for endpoints that store nothing."""
    return await make_client(f"sqlite:///{tmp_path / 'desk.db'}")


@pytest.fixture
def sender_id() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def create_ticket(
    sender_id: str,
) -> Callable[..., Awaitable[Dict]]:
    """Posts a ticket (sender_id filled in) and returns its JSON, asserting 201."""

    async def create(client: TestClient, description: str, **fields: object) -> Dict:
        body = {"sender_id": sender_id, "description": description, **fields}
        resp = await client.post("/api/tickets", json=body)
        assert resp.status == 201, await resp.text()
        return await resp.json()

    return create


@pytest_asyncio.fixture
async def operator_headers(client: TestClient) -> Dict[str, str]:
    """Authorization headers of the admin configured by DESK_ADMIN_USER/PASSWORD."""
    resp = await client.post("/api/auth/login", json=ADMIN)
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}
