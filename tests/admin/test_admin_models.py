"""Training, evaluation, promotion and rollback through the API, with a fake ``rasa`` command line
and a fake Rasa HTTP API (the real ones: tests/admin/test_admin_retrain_real.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict

from desk.admin.service import AdminService

MISSED = "您好呀"  # a held-out greeting the running model gets wrong


async def _wait_trained(client, headers, model_id: str) -> Dict[str, Any]:
    seen = set()
    for _ in range(300):
        model = await (await client.get(f"/api/models/{model_id}", headers=headers)).json()
        seen.add(model["stage"])
        if model["status"] in ("trained", "failed"):
            model["stages"] = seen
            return model
        await asyncio.sleep(0.05)
    raise AssertionError(f"training did not finish: {model}")


def _running_model(project, fake_rasa) -> Path:
    base = project["models"] / "rexian-base.tar.gz"
    base.write_text(json.dumps({"wrong": [MISSED], "args": []}), encoding="utf-8")
    fake_rasa.model_file = str(base)
    return base


async def test_train_compare_promote_and_roll_back(
    admin_client, admin_headers, project, fake_rasa, fake_rasa_cli
):
    _running_model(project, fake_rasa)
    models = (await (await admin_client.get("/api/models", headers=admin_headers)).json())["models"]
    assert [(m["id"], m["status"], m["mode"]) for m in models] == [("rexian-base", "active", "external")]

    refused = await admin_client.post("/api/models/train", json={"mode": "finetune"}, headers=admin_headers)
    assert refused.status == 409 and "不能增量训练" in (await refused.json())["error"]["message"]

    resp = await admin_client.post("/api/models/train", json={"mode": "auto"}, headers=admin_headers)
    assert resp.status == 202, await resp.text()
    first = await resp.json()
    assert first["mode"] == "full" and first["status"] == "training"
    busy = await admin_client.post("/api/models/train", json={}, headers=admin_headers)
    assert busy.status == 409
    trained = await _wait_trained(admin_client, admin_headers, first["id"])
    assert trained["status"] == "trained" and trained["progress"] == 1.0
    assert any(stage.startswith("训练意图分类器") for stage in trained["stages"])  # progress was visible
    assert trained["metrics"]["intent_f1"] == 1.0 and trained["metrics"]["dispatch_accuracy"] == 1.0

    comparison = await (
        await admin_client.get(f"/api/models/{first['id']}/compare", headers=admin_headers)
    ).json()
    assert comparison["current"] == "rexian-base"
    assert (
        comparison["figures"]["intent_f1"]["current"] < comparison["figures"]["intent_f1"]["candidate"] == 1.0
    )
    assert comparison["changed"] == [
        {"text": MISSED, "expected": "greet", "before": "complain", "after": "greet", "outcome": "fixed"}
    ]

    promoted = await admin_client.post(f"/api/models/{first['id']}/promote", headers=admin_headers)
    assert promoted.status == 200, await promoted.text()
    assert (await promoted.json())["status"] == "active" and fake_rasa.swaps == [f"{first['id']}.tar.gz"]

    # Same config, domain and intents as the running model: fine-tuned this time.
    second = await (await admin_client.post("/api/models/train", json={}, headers=admin_headers)).json()
    assert second["mode"] == "finetune" and second["base_id"] == first["id"]
    await _wait_trained(admin_client, admin_headers, second["id"])
    args = json.loads((project["models"] / f"{second['id']}.tar.gz").read_text())["args"]
    assert "--finetune" in args and args[args.index("--finetune") + 1].endswith(f"{first['id']}.tar.gz")

    # An example with a character the running model never saw: fine-tuning could not learn it.
    unseen = {"intent": "complain", "text": "楼下卖鬯酒的摊子天天吵"}
    assert (await admin_client.post("/api/nlu/examples", json=unseen, headers=admin_headers)).status == 201
    third = await (await admin_client.post("/api/models/train", json={}, headers=admin_headers)).json()
    assert third["mode"] == "full"
    await _wait_trained(admin_client, admin_headers, third["id"])
    refused = await admin_client.post("/api/models/train", json={"mode": "finetune"}, headers=admin_headers)
    assert refused.status == 409 and "鬯" in (await refused.json())["error"]["message"]

    never_live = await admin_client.post(f"/api/models/{second['id']}/rollback", headers=admin_headers)
    assert never_live.status == 409
    back = await admin_client.post("/api/models/rexian-base/rollback", headers=admin_headers)
    assert back.status == 200, await back.text()
    assert fake_rasa.swaps[-1] == "rexian-base.tar.gz"
    statuses = {
        m["id"]: m["status"]
        for m in (await (await admin_client.get("/api/models", headers=admin_headers)).json())["models"]
    }
    assert statuses == {
        "rexian-base": "active",
        first["id"]: "retired",
        second["id"]: "trained",
        third["id"]: "trained",
    }


async def test_a_model_that_reads_as_trained_frees_the_trainer_while_old_files_are_pruned(
    admin_client, admin_headers, project, fake_rasa, fake_rasa_cli, monkeypatch
):
    # The training task marks its model trained, then prunes old files: an admin who sees
    # 完成 may start the next training at once, pruning or not.
    pruning = asyncio.Event()
    release = asyncio.Event()

    async def slow_prune(self: AdminService) -> None:
        pruning.set()
        await release.wait()

    monkeypatch.setattr(AdminService, "_prune", slow_prune)
    _running_model(project, fake_rasa)
    first = await (await admin_client.post("/api/models/train", json={}, headers=admin_headers)).json()
    await _wait_trained(admin_client, admin_headers, first["id"])
    await asyncio.wait_for(pruning.wait(), 5)

    resp = await admin_client.post("/api/models/train", json={"mode": "full"}, headers=admin_headers)
    assert resp.status == 202, await resp.text()
    busy = await admin_client.post("/api/models/train", json={}, headers=admin_headers)
    assert busy.status == 409  # the new one is training
    release.set()
    second = await _wait_trained(admin_client, admin_headers, (await resp.json())["id"])
    assert second["status"] == "trained"


async def test_a_failed_training_is_reported_and_nothing_is_swapped(
    admin_client, admin_headers, project, fake_rasa, fake_rasa_cli, monkeypatch
):
    _running_model(project, fake_rasa)
    monkeypatch.setenv("FAKE_RASA_FAIL", "1")
    model = await (
        await admin_client.post("/api/models/train", json={"mode": "full"}, headers=admin_headers)
    ).json()
    failed = await _wait_trained(admin_client, admin_headers, model["id"])
    assert failed["status"] == "failed" and "ValidationError" in failed["metrics"]["error"]
    refused = await admin_client.post(f"/api/models/{model['id']}/promote", headers=admin_headers)
    assert refused.status == 409 and fake_rasa.swaps == []


async def test_promotion_needs_the_file_and_a_reachable_rasa(admin_client, admin_headers, project, fake_rasa):
    from desk.admin.registry import RasaModelClient
    from desk.keys import ADMIN

    _running_model(project, fake_rasa)
    for name in ("rexian-other", "rexian-gone"):
        (project["models"] / f"{name}.tar.gz").write_text("{}")
    await admin_client.get("/api/models", headers=admin_headers)
    (project["models"] / "rexian-gone.tar.gz").unlink()
    gone = await admin_client.post("/api/models/rexian-gone/promote", headers=admin_headers)
    assert gone.status == 409  # refused before Rasa is asked
    admin_client.app[ADMIN].rasa = RasaModelClient("http://127.0.0.1:9")
    down = await admin_client.post("/api/models/rexian-other/promote", headers=admin_headers)
    assert down.status == 502 and (await down.json())["error"]["code"] == "rasa_unavailable"
    models = (await (await admin_client.get("/api/models", headers=admin_headers)).json())["models"]
    assert {m["id"]: m["status"] for m in models}["rexian-base"] == "active"  # nothing changed
