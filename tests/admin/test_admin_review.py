"""The review queue: what lands in it, and annotating or dismissing it through the API."""

from __future__ import annotations

from typing import Any, Dict, List

import yaml

from tests.admin.conftest import ROOT

USER = "web-review-1"


def _user(text: str, intent: str, confidence: float, ts: float, sender: str = USER) -> Dict[str, Any]:
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": ts,
        "text": text,
        "input_channel": "webchat",
        "parse_data": {"intent": {"name": intent, "confidence": confidence}},
    }


def _bot(text: str, ts: float, sender: str = USER) -> Dict[str, Any]:
    return {"sender_id": sender, "event": "bot", "timestamp": ts, "text": text}


async def _post_events(client, events: List[Dict[str, Any]]) -> None:
    resp = await client.post("/api/rasa/events", json={"events": events})
    assert resp.status == 202, await resp.text()


async def _queue(client, headers, status: str = "open") -> Dict[str, Any]:
    resp = await client.get(f"/api/review?status={status}", headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_low_confidence_message_lands_in_the_queue_with_its_masked_context(
    admin_client, admin_headers
):
    await _post_events(
        admin_client,
        [
            _user("你好", "greet", 0.99, 1.0),
            _bot("您好，请问有什么可以帮您？", 2.0),
            _user("我电话13912345678，楼下那个摊子又来了咋整", "complain", 0.41, 3.0),
            _bot("请问具体在什么地方？", 3.5),
            _user("好的谢谢", "thank", 0.97, 4.0),  # understood well: not queued
            _bot("不客气", 4.5),
        ],
    )
    queue = await _queue(admin_client, admin_headers)
    assert len(queue["items"]) == 1
    item = queue["items"][0]
    assert item["reason"] == "low_confidence" and item["intent"] == "complain" and item["confidence"] == 0.41
    assert "13912345678" not in item["text"] and "139****5678" in item["text"]
    assert [turn["text"] for turn in item["context"]] == [
        "你好",
        "您好，请问有什么可以帮您？",
        "请问具体在什么地方？",
    ]
    assert item["context"][-1]["after"] is True  # the bot's answer to the message
    assert "complain" in queue["intents"] and "street" in queue["entities"]


async def test_fallback_and_an_operator_takeover_are_queued_once(admin_client, admin_headers):
    fallback = _user("嗯那个啥就是说", "nlu_fallback", 0.3, 1.0)
    await _post_events(admin_client, [fallback])
    await _post_events(admin_client, [fallback])  # the broker may deliver twice
    await _post_events(
        admin_client,
        [
            _user("转给你们领导，身份证110101199001011234", "request_human", 0.95, 2.0, sender="web-2"),
            {"sender_id": "web-2", "event": "pause", "timestamp": 3.0},
        ],
    )
    items = (await _queue(admin_client, admin_headers))["items"]
    assert sorted(i["reason"] for i in items) == ["fallback", "takeover"]
    takeover = next(i for i in items if i["reason"] == "takeover")
    assert "110101199001011234" not in takeover["text"] and "110101********1234" in takeover["text"]


async def test_a_dispatchers_reassignment_joins_the_queue(admin_client, admin_headers):
    body = {"sender_id": "web-3", "description": "楼上每天半夜拖椅子，吵得睡不着"}
    ticket = await (await admin_client.post("/api/tickets", json=body)).json()
    resp = await admin_client.patch(
        f"/api/tickets/{ticket['id']}", json={"scenario": "noise.construction_night"}, headers=admin_headers
    )
    assert resp.status == 200, await resp.text()
    items = (await _queue(admin_client, admin_headers))["items"]
    reassigned = [i for i in items if i["reason"] == "reassignment"]
    assert len(reassigned) == 1 and reassigned[0]["intent"] == "noise.construction_night"
    assert len((await _queue(admin_client, admin_headers))["items"]) == 1  # imported once


async def test_annotating_adds_a_valid_example_to_the_intents_file(admin_client, admin_headers, project):
    await _post_events(admin_client, [_user("东湖街道那个夜市天天占道我要反映", "greet", 0.35, 1.0)])
    item = (await _queue(admin_client, admin_headers))["items"][0]
    body = {
        "action": "annotate",
        "intent": "complain",
        "entities": [{"start": 0, "end": 4, "entity": "street"}],
    }
    resp = await admin_client.post(f"/api/review/{item['id']}", json=body, headers=admin_headers)
    assert resp.status == 200, await resp.text()
    done = await resp.json()
    assert done["status"] == "annotated" and done["resolution"]["file"] == "reviewed/complain.yml"
    written = (project["nlu"] / "reviewed" / "complain.yml").read_text(encoding="utf-8")
    assert "    - [东湖街道](street)那个夜市天天占道我要反映\n" in written
    parsed = yaml.safe_load(written)
    assert parsed["nlu"][0]["intent"] == "complain"
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    example = RasaYAMLReader().reads(written).intent_examples[0]
    assert example.get("text") == "东湖街道那个夜市天天占道我要反映"
    assert example.get("entities")[0]["value"] == "东湖街道"
    assert (await _queue(admin_client, admin_headers))["items"] == []


async def test_a_conflicting_example_is_refused_with_the_reason(admin_client, admin_headers, project):
    await _post_events(admin_client, [_user("谢谢你", "thank", 0.5, 1.0)])
    item = (await _queue(admin_client, admin_headers))["items"][0]
    resp = await admin_client.post(
        f"/api/review/{item['id']}", json={"action": "annotate", "intent": "complain"}, headers=admin_headers
    )
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "validation_failed"
    assert "冲突" in error["message"] and "thank" in error["message"] and "nlu.yml" in error["message"]
    assert error["details"]["problems"][0]["code"] == "conflict"
    assert not (project["nlu"] / "reviewed").exists()
    assert len((await _queue(admin_client, admin_headers))["items"]) == 1  # still open


async def test_an_entity_inside_a_jieba_word_is_refused_with_the_words(admin_client, admin_headers):
    await _post_events(admin_client, [_user("东湖街道阳光小区门口垃圾没人清", "inform", 0.3, 1.0)])
    item = (await _queue(admin_client, admin_headers))["items"][0]
    body = {
        "action": "annotate",
        "intent": "complain",
        "entities": [{"start": 0, "end": 3, "entity": "street"}],
    }
    resp = await admin_client.post(f"/api/review/{item['id']}", json=body, headers=admin_headers)
    assert resp.status == 422
    problem = (await resp.json())["error"]["details"]["problems"][0]
    assert problem["code"] == "entity_not_on_token_boundary"
    assert problem["span"] == "东湖街" and problem["suggestion"] == "东湖街道"
    assert "结巴分词" in problem["message"]


async def test_dismissing_closes_the_item_and_a_second_decision_conflicts(admin_client, admin_headers):
    await _post_events(admin_client, [_user("啊啊啊啊", "nlu_fallback", 0.2, 1.0)])
    item = (await _queue(admin_client, admin_headers))["items"][0]
    url = f"/api/review/{item['id']}"
    assert (await admin_client.post(url, json={"action": "dismiss"}, headers=admin_headers)).status == 200
    again = await admin_client.post(url, json={"action": "dismiss"}, headers=admin_headers)
    assert again.status == 409
    dismissed = (await _queue(admin_client, admin_headers, "dismissed"))["items"]
    assert [i["id"] for i in dismissed] == [item["id"]] and dismissed[0]["resolved_by"] == "admin"


async def test_every_admin_action_is_audited(admin_client, admin_headers):
    from desk.keys import AUDIT

    await _post_events(admin_client, [_user("啊啊啊啊", "nlu_fallback", 0.2, 1.0)])
    item = (await _queue(admin_client, admin_headers))["items"][0]
    await admin_client.post(f"/api/review/{item['id']}", json={"action": "dismiss"}, headers=admin_headers)
    entries = admin_client.app[AUDIT].entries(target=f"review:{item['id']}")
    assert entries[0]["action"] == "review.dismiss" and entries[0]["actor"] == "admin"


async def test_the_admin_api_needs_an_admin(admin_client):
    assert (await admin_client.get("/api/review")).status == 401
    assert (await admin_client.post("/api/models/train", json={})).status == 401
    bad = {"Authorization": "Bearer forged.token"}
    assert (await admin_client.get("/api/models", headers=bad)).status == 401


async def test_a_scenario_given_in_review_becomes_dispatch_training_data(
    admin_client, admin_headers, project
):
    from desk.city.profile import load_profile
    from desk.dispatch.dataset import load_examples

    await _post_events(admin_client, [_user("半夜楼下KTV唱歌吵死了", "greet", 0.3, 1.0)])
    item = (await _queue(admin_client, admin_headers))["items"][0]
    body = {"action": "annotate", "intent": "complain", "scenario": "noise.commercial"}
    resp = await admin_client.post(f"/api/review/{item['id']}", json=body, headers=admin_headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["resolution"]["dispatch_file"] == "train_reviewed.yml"
    profile = load_profile(ROOT / "desk" / "city" / "shifan.yaml")
    learned = load_examples(project["dispatch"], "train_reviewed.yml", profile)
    assert [(e.text, e.label) for e in learned] == [("半夜楼下KTV唱歌吵死了", "noise.commercial")]
    retrained = await admin_client.post("/api/dispatch/retrain", headers=admin_headers)
    assert retrained.status == 200
