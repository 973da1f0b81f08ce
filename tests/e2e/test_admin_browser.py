"""The admin page in a real browser (headless Chromium via Playwright): log in, work the review
queue (a refused conflict with its reason, a dismissal, an annotation with an entity), then train
and promote a model. desk runs alone on a free port, with a fake Rasa HTTP API and a fake
``rasa`` command line (tests/admin/fake_rasa.py); the real loop is tests/admin/test_admin_retrain_real.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from aiohttp import web

from desk.app import create_app
from desk.settings import Settings
from tests.admin.conftest import FakeRasa
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"username": "admin", "password": "browser-test-pass"}


class DeskThread:
    """desk and a fake Rasa on their own event loop in a background thread."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port, rasa_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.rasa = FakeRasa(url=f"http://127.0.0.1:{rasa_port}")
        base = tmp / "models" / "rexian-base.tar.gz"
        base.parent.mkdir()
        base.write_text(json.dumps({"wrong": [], "args": []}))
        self.rasa.model_file = str(base)
        shutil.copytree(ROOT / "nlu_data", tmp / "nlu_data")
        settings = Settings(
            database_url=f"sqlite:///{tmp / 'desk.db'}",
            admin_user=ADMIN["username"],
            admin_password=ADMIN["password"],
            nlu_data_dir=tmp / "nlu_data",
            models_dir=tmp / "models",
            rasa_url=self.rasa.url,
            kb_embedder="none",
        )
        self.loop = asyncio.new_event_loop()
        self.runners = [web.AppRunner(create_app(settings)), web.AppRunner(self.rasa.app())]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        for runner, port in zip(self.runners, (self.port, int(self.rasa.url.rsplit(":", 1)[1])), strict=True):
            asyncio.run_coroutine_threadsafe(self._serve(runner, port), self.loop).result(timeout=180)

    @staticmethod
    async def _serve(runner: web.AppRunner, port: int) -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    def stop(self) -> None:
        for runner in self.runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def post_events(self, events: list) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/rasa/events",
            data=json.dumps({"events": events}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeskThread]:
    wrapper = tmp_path / "rasa"
    fake = ROOT / "tests" / "admin" / "fake_rasa.py"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr("desk.admin.training.RASA", str(wrapper))
    monkeypatch.setattr("desk.admin.evaluation.RASA", str(wrapper))
    running = DeskThread(tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _user(sender: str, text: str, intent: str, confidence: float, ts: float) -> dict:
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": ts,
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": confidence}},
    }


def _screenshot(page, name: str) -> None:
    directory = os.environ.get("REXIAN_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def test_an_admin_reviews_the_queue_then_trains_and_promotes(desk, browser):
    desk.post_events(
        [
            _user("web-a", "谢谢你", "thank", 0.45, 1.0),
            {"sender_id": "web-b", "event": "bot", "timestamp": 2.0, "text": "请问您要反映什么问题？"},
            _user("web-b", "东湖街道的夜市天天占道，电话13912345678", "greet", 0.3, 3.0),
        ]
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{desk.url}/admin")
    page.fill("#username", ADMIN["username"])
    page.fill("#password", ADMIN["password"])
    page.click("#login button[type=submit]")

    night_market = page.locator(".item", has_text="夜市")
    night_market.wait_for()
    assert "139****5678" in night_market.inner_text() and "13912345678" not in page.content()
    assert "请问您要反映什么问题" in night_market.locator(".context").first.inner_text()
    assert "置信度低" in night_market.inner_text()

    thanks = page.locator(".item", has_text="谢谢你")
    thanks.locator("select.intent").select_option("complain")
    thanks.locator("button.annotate").click()
    thanks.locator(".error", has_text="冲突").wait_for()
    assert "thank" in thanks.locator(".error").inner_text()
    _screenshot(page, "admin-conflict")
    thanks.locator("button.dismiss").click()
    thanks.wait_for(state="detached")

    night_market.locator("select.intent").select_option("complain")
    night_market.locator("input.span").fill("东湖街道")
    night_market.locator("select.entity").select_option("street")
    night_market.locator("button.annotate").click()
    page.locator("#toast", has_text="reviewed/complain.yml").wait_for()
    night_market.wait_for(state="detached")
    written = (desk.tmp / "nlu_data" / "reviewed" / "complain.yml").read_text(encoding="utf-8")
    assert "- [东湖街道](street)的夜市天天占道，电话139****5678" in written
    page.locator("#review-empty").wait_for()

    page.click("#tabs [data-tab=data]")
    page.locator("#example-list li").first.wait_for()
    page.select_option("#add-intent", "complain")
    page.fill("#add-text", "白塔街道的井盖丢了")
    page.fill("#add-span", "白塔街")
    page.select_option("#add-entity", "street")
    page.click("#add-form button[type=submit]")
    page.locator("#add-error", has_text="结巴分词").wait_for()
    assert "白塔街道" in page.locator("#add-error").inner_text()  # the suggested span
    page.fill("#add-span", "白塔街道")
    page.click("#add-form button[type=submit]")
    page.locator("#toast", has_text="reviewed/complain.yml").wait_for()
    _screenshot(page, "admin-data")

    page.click("#tabs [data-tab=models]")
    page.locator("tr.model", has_text="rexian-base").locator(".status-active").wait_for()
    page.click("#train-full")
    trained = page.locator("tr.model", has_text="rexian-admin")
    trained.locator("td", has_text="待上线").wait_for(timeout=60_000)
    assert "100.0%" in trained.inner_text()  # intent F1 of the fake model
    trained.locator("button.promote").click()
    page.locator("#toast", has_text="已切换到").wait_for()
    trained.locator(".status-active").wait_for()
    _screenshot(page, "admin-models")
    assert desk.rasa.swaps and desk.rasa.swaps[-1].startswith("rexian-admin")
    context.close()
