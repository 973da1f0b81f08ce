"""Benchmark: held-out messages through whole conversations with the running stack.

For each message a simulated citizen answers whatever the bot asks (place, time, phone,
details) and confirms; the figure is how often the ticket ends up with the right owner,
and how often a pure question creates no ticket. Needs `make run` (or the ports below).
Usage: .venv/bin/python benchmarks/e2e_dispatch.py [--limit 100] [--rasa URL] [--desk URL]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desk.city.profile import DEFAULT_PROFILE_PATH, load_profile  # noqa: E402
from desk.dispatch.dataset import NONE, load_examples  # noqa: E402
from desk.dispatch.evaluate import owner_of  # noqa: E402
from desk.dispatch.training import data_dir_for  # noqa: E402

ANSWERS = [  # the read-back mentions every detail, so it is recognised first
    ("请核对", "确认"),
    ("什么地方", "城东区东湖街道幸福小区3栋门口"),
    ("什么时候", "最近一周每天都这样"),
    ("联系电话", "13912345678"),
    ("具体说说", "情况就是刚才说的那样，麻烦尽快处理"),
]


def call(url: str, body: dict | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def converse(rasa: str, sender: str, text: str) -> str:
    replies = call(f"{rasa}/webhooks/rest/webhook", {"sender": sender, "message": text})
    return "\n".join(r.get("text", "") for r in replies)  # type: ignore[union-attr]


def simulate(rasa: str, sender: str, text: str) -> None:
    reply = converse(rasa, sender, text)
    for _ in range(8):
        answer = next((a for cue, a in ANSWERS if cue in reply), None)
        if answer is None or "工单编号" in reply:
            return
        reply = converse(rasa, sender, answer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--desk", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    profile = load_profile(DEFAULT_PROFILE_PATH)
    examples = load_examples(data_dir_for(DEFAULT_PROFILE_PATH), "heldout_*.yml", profile)
    random.Random(7).shuffle(examples)
    right = questions = questions_ticketed = routed = 0
    for example in examples[: args.limit]:
        sender = f"bench-{uuid.uuid4().hex[:10]}"
        simulate(args.rasa, sender, example.text)
        tickets = call(f"{args.desk}/api/tickets?sender_id={sender}")
        owner = tickets[0]["owner"] if tickets else None  # type: ignore[index]
        if example.label == NONE:
            questions += 1
            questions_ticketed += bool(tickets)
            if tickets:
                print(f"  question ticketed ({tickets[0]['owner']}): {example.text}")  # type: ignore[index]
        else:
            routed += 1
            right += owner == owner_of(example.label, profile)
            if owner != owner_of(example.label, profile):
                print(f"  {example.label} -> {owner} ({len(tickets)} tickets): {example.text}")  # type: ignore[arg-type]
    print(
        f"end to end: right owner {right}/{routed} = {right / max(1, routed):.3f}; "
        f"questions that created a ticket {questions_ticketed}/{questions}"
    )


if __name__ == "__main__":
    main()
