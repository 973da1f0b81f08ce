"""Benchmark: full and incremental (fine-tune) Rasa training, and the live model swap.

On a private copy of the project's training inputs (config.yml, bot/domain.yml, bot/data,
nlu_data), as desk's admin side runs them:
1. full ``rasa train`` (with Rasa's data validation),
2. one reviewed example added, then ``rasa train --finetune <full> --epoch-fraction 0.5``,
3. a Rasa server started on the full model, then ``PUT /model`` to the fine-tuned one and back
   (``--rounds`` times) while a citizen keeps chatting; prints each swap's seconds and whether
   every turn during the swaps was answered.
Prints figures, not a test. Usage: .venv/bin/python benchmarks/admin_training.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import List

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desk.admin.nlu_data import Example, NluDataWriter  # noqa: E402
from desk.admin.registry import RasaModelClient  # noqa: E402
from desk.admin.training import RASA, TrainingInputs, run_training, train_command  # noqa: E402

NEW_EXAMPLE = Example("complain", "小区门口的共享单车堆成山了也没人清理")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_project(tmp: Path) -> TrainingInputs:
    for name in ("config.yml", "bot/domain.yml", "bot/data", "nlu_data"):
        source, target = ROOT / name, tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    (tmp / "models").mkdir()
    return TrainingInputs(
        tmp / "config.yml", tmp / "bot/domain.yml", tmp / "nlu_data", tmp / "bot/data", tmp / "models"
    )


async def _progress(value: float, stage: str) -> None:
    print(f"    {value * 100:5.1f}%  {stage}", flush=True)


async def train(inputs: TrainingInputs, name: str, finetune: Path | None) -> float:
    seconds = await run_training(train_command(inputs, name, finetune), _progress, cwd=inputs.config.parent)
    return seconds


async def chat(session: aiohttp.ClientSession, rasa: str, stop: asyncio.Event) -> List[bool]:
    answered = []
    while not stop.is_set():
        body = {"sender": "bench-citizen", "message": "你好"}
        async with session.post(f"{rasa}/webhooks/rest/webhook", json=body) as resp:
            answered.append(resp.status == 200 and bool(await resp.json()))
    return answered


async def swaps(tmp: Path, full: Path, tuned: Path, rounds: int) -> List[float]:
    port = free_port()
    rasa = f"http://127.0.0.1:{port}"
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tmp / 'tracker.db'}\n")
    process = await asyncio.create_subprocess_exec(
        RASA,
        "run",
        "--enable-api",
        "--port",
        str(port),
        "--model",
        str(full),
        "--endpoints",
        str(endpoints),
        cwd=str(tmp),
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    client = RasaModelClient(rasa)
    try:
        for _ in range(300):
            if await client.running_model():
                break
            await asyncio.sleep(1)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
            stop = asyncio.Event()
            chatting = asyncio.create_task(chat(session, rasa, stop))
            seconds = []
            for index in range(rounds * 2):
                seconds.append(await client.swap(tuned if index % 2 == 0 else full))
            stop.set()
            answered = await chatting
        print(f"  turns during the swaps: {len(answered)}, all answered: {all(answered)}")
        return seconds
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        await process.wait()


async def main(rounds: int, keep: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rexian-admin-bench-"))
    try:
        inputs = copy_project(tmp)
        print("full training (rasa train, with data validation):")
        full_s = await train(inputs, "full", None)
        NluDataWriter(inputs.nlu_dir).add_example(NEW_EXAMPLE)
        print("incremental training (one reviewed example added, --finetune, --epoch-fraction 0.5):")
        tuned_s = await train(inputs, "tuned", inputs.out_dir / "full.tar.gz")
        print("live swaps (PUT /model):")
        swap_s = await swaps(tmp, inputs.out_dir / "full.tar.gz", inputs.out_dir / "tuned.tar.gz", rounds)
        print()
        print(f"full training:        {full_s:6.1f} s")
        print(f"incremental training: {tuned_s:6.1f} s")
        print(
            f"swap (PUT /model):    median {statistics.median(swap_s):.2f} s, "
            f"max {max(swap_s):.2f} s over {len(swap_s)} swaps"
        )
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="swap there and back this many times")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.keep))
