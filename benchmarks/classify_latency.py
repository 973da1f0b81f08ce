"""Benchmark: POST /api/classify latency over HTTP against a desk started here.

Prints p50/p95/p99 in milliseconds for the held-out messages (a figure, not a test).
Usage: .venv/bin/python benchmarks/classify_latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desk.city.profile import DEFAULT_PROFILE_PATH, load_profile  # noqa: E402
from desk.dispatch.dataset import load_examples  # noqa: E402
from desk.dispatch.training import data_dir_for  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    profile = load_profile(DEFAULT_PROFILE_PATH)
    texts = [e.text for e in load_examples(data_dir_for(DEFAULT_PROFILE_PATH), "heldout_*.yml", profile)]
    texts = texts or ["小区门口的烧烤摊天天占道经营，晚上烟熏火燎"]
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DESK_PORT=str(port), DATABASE_URL=f"sqlite:///{tmp}/desk.db")
        desk = subprocess.Popen([sys.executable, "-m", "desk"], cwd=ROOT, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"{url}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.3)
            timings = []
            for _ in range(args.rounds):
                for text in texts:
                    started = time.perf_counter()
                    post(f"{url}/api/classify", {"text": text})
                    timings.append((time.perf_counter() - started) * 1000)
        finally:
            desk.terminate()
            desk.wait(timeout=30)
    timings.sort()
    pick = lambda q: timings[int(q * (len(timings) - 1))]  # noqa: E731
    print(f"classify over HTTP: {len(timings)} requests")
    print(f"  p50 {statistics.median(timings):.1f} ms  p95 {pick(0.95):.1f} ms  p99 {pick(0.99):.1f} ms")


if __name__ == "__main__":
    main()
