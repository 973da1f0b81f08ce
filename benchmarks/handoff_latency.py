"""Delay from a citizen's message to the operator's console, 50 conversations at once.

Starts the whole stack (scripts/run_stack.py on free ports, like `make run`), puts N
conversations in the operator queue over Rasa's REST channel ("转人工"), has one operator claim
them all, opens the console's live feed, then sends one message from every citizen at the
same moment and measures when each reaches the console. Target: p95 under 300 ms on loopback.

    .venv/bin/python benchmarks/handoff_latency.py [--conversations 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import OPERATOR, Stack  # noqa: E402


async def _say(session: aiohttp.ClientSession, rasa: str, sender: str, text: str) -> None:
    async with session.post(f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as r:
        await r.read()


async def run(stack: Stack, conversations: int, rounds: int) -> Dict[str, float]:
    senders = [f"bench-{int(time.time())}-{n}" for n in range(conversations)]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        await asyncio.gather(*(_say(session, stack.rasa, s, "转人工") for s in senders))
        async with session.post(
            f"{stack.desk}/api/auth/login", json={"username": OPERATOR[0], "password": OPERATOR[1]}
        ) as r:
            token = (await r.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for sender in senders:
            async with session.post(f"{stack.desk}/api/handoffs/{sender}/claim", headers=headers) as r:
                assert r.status == 200, await r.text()
        delays: List[float] = []
        async with session.ws_connect(f"{stack.desk}/api/handoffs/live?token={token}") as ws:
            for round_ in range(rounds):
                sent: Dict[str, float] = {}
                text = f"第{round_ + 1}轮消息"

                async def send(sender: str, sent: Dict[str, float] = sent, text: str = text) -> None:
                    sent[sender] = time.perf_counter()
                    await _say(session, stack.rasa, sender, text)

                tasks = [asyncio.create_task(send(s)) for s in senders]
                waiting = set(senders)
                deadline = time.perf_counter() + 30
                while waiting and time.perf_counter() < deadline:
                    msg = await ws.receive(timeout=30)
                    frame = json.loads(msg.data)
                    if (
                        frame.get("type") == "message"
                        and frame.get("text") == text
                        and frame["sender_id"] in waiting
                    ):
                        delays.append((time.perf_counter() - sent[frame["sender_id"]]) * 1000)
                        waiting.discard(frame["sender_id"])
                await asyncio.gather(*tasks)
                if waiting:
                    print(f"round {round_ + 1}: {len(waiting)} messages never reached the console")
        for sender in senders:
            async with session.post(f"{stack.desk}/api/handoffs/{sender}/release", headers=headers) as r:
                await r.read()
    delays.sort()
    return {
        "messages": len(delays),
        "p50_ms": statistics.median(delays),
        "p95_ms": delays[int(len(delays) * 0.95) - 1],
        "max_ms": delays[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.wait_ready()
            figures = asyncio.run(run(stack, args.conversations, args.rounds))
        finally:
            stack.stop()
    print(
        f"handoff latency, {args.conversations} conversations x {args.rounds} rounds: "
        f"{figures['messages']} messages, p50 {figures['p50_ms']:.0f} ms, "
        f"p95 {figures['p95_ms']:.0f} ms, max {figures['max_ms']:.0f} ms (target p95 < 300 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
