"""The whole stack as `make run` starts it (scripts/run_stack.py), on free ports.

Each test module that uses the ``stack`` fixture gets its own stack (module scope).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 300
OPERATOR = ("duty-admin", "e2e-admin-password")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: Optional[Any] = None, raw: Optional[bytes] = None) -> tuple:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload or b"null")
        except json.JSONDecodeError:
            return error.code, payload.decode(errors="replace")


class Stack:
    def __init__(self, tmp: Path, extra_env: Optional[Dict[str, str]] = None) -> None:
        self.ports = {"RASA_PORT": free_port(), "ACTIONS_PORT": free_port(), "DESK_PORT": free_port()}
        env = dict(os.environ, **{k: str(v) for k, v in self.ports.items()})
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'desk.db'}"
        env["RASA_TRACKER_DB"] = str(tmp / "tracker.db")
        env["UPLOAD_DIR"] = str(tmp / "uploads")
        env["DESK_ADMIN_USER"], env["DESK_ADMIN_PASSWORD"] = OPERATOR
        env["HANDOFF_STORE"] = "in_memory"
        env.pop("DESK_URL", None)
        env.update(extra_env or {})
        self.log = open(tmp / "stack.log", "w+")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run_stack.py")],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.rasa = f"http://127.0.0.1:{self.ports['RASA_PORT']}"
        self.desk = f"http://127.0.0.1:{self.ports['DESK_PORT']}"

    def logs(self) -> str:
        self.log.seek(0)
        return self.log.read()[-5000:]

    def stop(self) -> None:
        """Ctrl-C, as a person would; killed if it does not stop within a minute."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"stack exited early:\n{self.logs()}")
            if "ready in" in self.logs():
                return
            time.sleep(1)
        pytest.fail(f"stack not ready after {STARTUP_TIMEOUT_S}s:\n{self.logs()}")

    def say(self, sender: str, text: str) -> List[str]:
        message = {"sender": sender, "message": text}
        status, replies = http("POST", f"{self.rasa}/webhooks/rest/webhook", message)
        assert status == 200, replies
        return [r.get("text", "") for r in replies]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("stack"))
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()




CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (scripts/test.sh installs both)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"Playwright is not installed: {exc}"
    else:
        reason = "" if Path(CHROMIUM).exists() else f"no Chromium at {CHROMIUM}"
    if reason:
        if os.environ.get("REXIAN_REQUIRE_SERVICES") == "1":
            pytest.fail(f"REXIAN_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        try:
            yield instance
        finally:
            instance.close()
