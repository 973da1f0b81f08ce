"""Fixtures of the admin tests: desk on SQLite and PostgreSQL with a private copy of the NLU data,
a fake Rasa HTTP API (``GET /status``, ``PUT /model``) and, where training is not the point,
a fake ``rasa`` command line."""

from __future__ import annotations

import shutil
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Dict, List, Optional

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.desk.conftest import (  # noqa: F401  (fixtures shared with the desk tests)
    ADMIN,
    database_url,
    make_client,
    postgres_server_url,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FakeRasa:
    """Rasa's model API as desk uses it; records every swap."""

    model_file: Optional[str] = None
    swaps: List[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_put("/model", self._put_model)
        return app

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"model_file": self.model_file, "model_id": "x", "num_active_training_jobs": 0}
        )

    async def _put_model(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not Path(body["model_file"]).exists():
            return web.json_response({"message": "no such model"}, status=400)
        self.model_file = body["model_file"]
        self.swaps.append(Path(body["model_file"]).name)
        return web.Response(status=204)


@pytest_asyncio.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    fake = FakeRasa()
    server = TestServer(fake.app())
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
def project(tmp_path: Path) -> Dict[str, Path]:
    """A private copy of the NLU data and an empty models directory."""
    nlu = tmp_path / "nlu_data"
    shutil.copytree(ROOT / "nlu_data", nlu)
    models = tmp_path / "models"
    models.mkdir()
    dispatch = tmp_path / "dispatch"
    shutil.copytree(ROOT / "desk" / "city" / "shifan" / "dispatch", dispatch)
    return {"nlu": nlu, "models": models, "dispatch": dispatch}


@pytest.fixture
def fake_rasa_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points training and evaluation at tests/admin/fake_rasa.py."""
    wrapper = tmp_path / "rasa"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("fake_rasa.py")}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr("desk.admin.training.RASA", str(wrapper))
    monkeypatch.setattr("desk.admin.evaluation.RASA", str(wrapper))
    return wrapper


@pytest_asyncio.fixture
async def admin_client(make_client, database_url: str, project, fake_rasa: FakeRasa) -> TestClient:  # noqa: F811
    return await make_client(
        database_url,
        nlu_data_dir=project["nlu"],
        models_dir=project["models"],
        rasa_url=fake_rasa.url,
        review_threshold=0.6,
        dispatch_data_dir=project["dispatch"],
    )


@pytest_asyncio.fixture
async def admin_headers(admin_client: TestClient) -> Dict[str, str]:
    resp = await admin_client.post("/api/auth/login", json=ADMIN)
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}
