"""The whole loop with the real Rasa: a message the bot does not understand reaches the review queue
through Rasa's event broker; the admin annotates it, retrains, promotes; Rasa answers it
differently without a restart while conversations go on; rollback brings the old answer back.

Slow by nature (two real ``rasa train`` runs on a tiny project with a scikit-learn classifier,
two evaluations and a Rasa server): about two minutes on two cores.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Dict, List

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA = Path(sys.executable).with_name("rasa")
MESSAGE = "帮大忙了"  # thanks, which the first model does not understand
ANSWERS = {
    "greet": "您好，这里是12345。",
    "complain": "好的，请说说您要投诉的问题。",
    "thank": "不客气。",
    "fallback": "抱歉，我没听懂。",
}

CONFIG = """recipe: default.v1
language: zh
assistant_id: rexian-admin-test
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 2
  - name: LogisticRegressionClassifier
  - name: FallbackClassifier
    threshold: 0.6
policies:
  - name: RulePolicy
"""
DOMAIN = f"""version: "3.1"
intents: [greet, complain, thank]
responses:
  utter_greet: [{{text: "{ANSWERS["greet"]}"}}]
  utter_complain: [{{text: "{ANSWERS["complain"]}"}}]
  utter_thank: [{{text: "{ANSWERS["thank"]}"}}]
  utter_default: [{{text: "{ANSWERS["fallback"]}"}}]
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
"""
RULES = """version: "3.1"
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: complain
  steps: [{intent: complain}, {action: utter_complain}]
- rule: thank
  steps: [{intent: thank}, {action: utter_thank}]
- rule: fallback
  steps: [{intent: nlu_fallback}, {action: utter_default}]
"""
NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好
    - 您好
    - 你好呀
    - 在吗
    - 早上好
    - 哈喽
- intent: complain
  examples: |
    - 我要投诉
    - 我要反映问题
    - 投诉楼下噪音
    - 我想投诉一下
    - 要举报
- intent: thank
  examples: |
    - 谢谢
    - 多谢
    - 谢谢你
    - 感谢
    - 辛苦了
"""
TEST_NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好啊
- intent: complain
  examples: |
    - 我要投诉噪音
- intent: thank
  examples: |
    - 谢谢啦
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _project(tmp: Path, desk_url: str) -> Dict[str, Path]:
    files = {
        "config.yml": CONFIG,
        "domain.yml": DOMAIN,
        "data/rules.yml": RULES,
        "nlu_data/nlu.yml": NLU,
        "test_nlu.yml": TEST_NLU,
        "endpoints.yml": (
            f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tmp / 'tracker.db'}\n"
            f"event_broker:\n  type: bot.broker.DeskEventBroker\n  url: {desk_url}\n"
        ),
    }
    for name, text in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text, encoding="utf-8")
    (tmp / "models").mkdir()
    return {
        name: tmp / name
        for name in ("config.yml", "domain.yml", "data", "nlu_data", "test_nlu.yml", "models")
    }


async def _json(response: aiohttp.ClientResponse) -> Any:
    assert response.status < 300, await response.text()
    return await response.json()


async def _train(desk, headers, mode: str) -> Dict[str, Any]:
    model = await _json(await desk.post("/api/models/train", json={"mode": mode}, headers=headers))
    for _ in range(600):
        model = await _json(await desk.get(f"/api/models/{model['id']}", headers=headers))
        if model["status"] in ("trained", "failed"):
            break
        await asyncio.sleep(0.5)
    assert model["status"] == "trained", model
    return model


async def _say(session: aiohttp.ClientSession, rasa: str, sender: str, text: str) -> List[str]:
    async with session.post(
        f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text}
    ) as resp:
        assert resp.status == 200, await resp.text()
        return [m.get("text", "") for m in await resp.json()]


async def _wait_for_rasa(session: aiohttp.ClientSession, rasa: str, process) -> None:
    for _ in range(240):
        if process.returncode is not None:
            pytest.fail("rasa run exited early")
        try:
            async with session.get(f"{rasa}/status") as resp:
                if resp.status == 200 and (await resp.json()).get("model_file"):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(1)
    pytest.fail("rasa run did not start in 240 s")


async def _chat_during_swap(session, rasa: str, stop: asyncio.Event) -> List[List[str]]:
    answers = []
    while not stop.is_set():
        answers.append(await _say(session, rasa, "citizen-busy", "你好"))
    return answers


@pytest.mark.skipif(not RASA.exists(), reason="Rasa is not installed in this environment")
async def test_review_retrain_promote_and_roll_back_with_real_rasa(make_client, tmp_path: Path):
    from desk.keys import ADMIN as ADMIN_KEY
    from tests.desk.conftest import ADMIN

    rasa_port = _free_port()
    rasa = f"http://127.0.0.1:{rasa_port}"
    desk_settings = dict(rasa_url=rasa, review_threshold=0.6)
    desk = await make_client(f"sqlite:///{tmp_path / 'desk.db'}", **desk_settings)
    paths = _project(tmp_path, str(desk.make_url("")).rstrip("/"))
    service = desk.app[ADMIN_KEY]
    inputs = service.config.inputs
    service.config.inputs = type(inputs)(
        config=paths["config.yml"],
        domain=paths["domain.yml"],
        nlu_dir=paths["nlu_data"],
        core_data=paths["data"],
        out_dir=paths["models"],
    )
    service.config.nlu_test = paths["test_nlu.yml"]
    service.config.dispatch_data_dir = None
    service.writer = type(service.writer)(paths["nlu_data"])
    token = (await _json(await desk.post("/api/auth/login", json=ADMIN)))["token"]
    headers = {"Authorization": f"Bearer {token}"}

    old = await _train(desk, headers, "full")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = await asyncio.create_subprocess_exec(
        str(RASA),
        "run",
        "--enable-api",
        "--port",
        str(rasa_port),
        "--model",
        old["path"],
        "--endpoints",
        str(tmp_path / "endpoints.yml"),
        cwd=str(tmp_path),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
            await _wait_for_rasa(session, rasa, process)
            models = (await _json(await desk.get("/api/models", headers=headers)))["models"]
            assert {m["id"]: m["status"] for m in models}[old["id"]] == "active"

            assert await _say(session, rasa, "citizen-1", "你好") == [ANSWERS["greet"]]
            assert await _say(session, rasa, "citizen-1", MESSAGE) == [ANSWERS["fallback"]]
            item = None
            for _ in range(50):  # the broker posts in the background
                queue = await _json(await desk.get("/api/review", headers=headers))
                item = next((i for i in queue["items"] if i["text"] == MESSAGE), None)
                if item:
                    break
                await asyncio.sleep(0.2)
            assert item is not None and item["reason"] == "fallback"
            assert [t["text"] for t in item["context"] if not t.get("after")] == ["你好", ANSWERS["greet"]]
            body = {"action": "annotate", "intent": "thank"}
            await _json(await desk.post(f"/api/review/{item['id']}", json=body, headers=headers))
            assert f"    - {MESSAGE}\n" in (paths["nlu_data"] / "reviewed" / "thank.yml").read_text(
                encoding="utf-8"
            )

            new = await _train(desk, headers, "full")
            stop = asyncio.Event()
            chatting = asyncio.create_task(_chat_during_swap(session, rasa, stop))
            promoted = await _json(await desk.post(f"/api/models/{new['id']}/promote", headers=headers))
            stop.set()
            during = await chatting
            print(f"swap took {promoted['swap_seconds']:.2f} s; {len(during)} turns answered meanwhile")
            assert during and all(answer == [ANSWERS["greet"]] for answer in during)

            assert await _say(session, rasa, "citizen-1", MESSAGE) == [ANSWERS["thank"]]
            async with session.get(f"{rasa}/conversations/citizen-1/tracker") as resp:
                said = [e["text"] for e in (await resp.json())["events"] if e["event"] == "user"]
            assert said == ["你好", MESSAGE, MESSAGE]  # the conversation went on across the swap

            await _json(await desk.post(f"/api/models/{old['id']}/rollback", headers=headers))
            assert await _say(session, rasa, "citizen-1", MESSAGE) == [ANSWERS["fallback"]]
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except asyncio.TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
