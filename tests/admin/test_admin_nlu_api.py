"""Editing the NLU data through the API: add, edit, remove examples; synonyms and lookup tables."""

from __future__ import annotations


async def test_examples_are_added_edited_and_removed(admin_client, admin_headers, project):
    add = {
        "intent": "complain",
        "text": "白塔街道的路灯一到晚上就灭",
        "entities": [{"start": 0, "end": 4, "entity": "street"}],
    }
    resp = await admin_client.post("/api/nlu/examples", json=add, headers=admin_headers)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["file"] == "reviewed/complain.yml"
    again = await admin_client.post("/api/nlu/examples", json=add, headers=admin_headers)
    assert (
        again.status == 422 and (await again.json())["error"]["details"]["problems"][0]["code"] == "duplicate"
    )

    edit = {"intent": "complain", "old_text": add["text"], "text": "白塔街道的路灯一到晚上就全灭了"}
    assert (await admin_client.put("/api/nlu/examples", json=edit, headers=admin_headers)).status == 200
    listed = await (await admin_client.get("/api/nlu/examples?intent=complain", headers=admin_headers)).json()
    reviewed = [e["text"] for e in listed["examples"] if e["file"] == "reviewed/complain.yml"]
    assert reviewed == ["白塔街道的路灯一到晚上就全灭了"] and "from_dispatch_data.yml" in listed["generated"]

    moved = {"intent": "greet", "old_text": "在不在", "new_intent": "ask_identity", "text": "在不在"}
    assert (await admin_client.put("/api/nlu/examples", json=moved, headers=admin_headers)).status == 200
    assert "    - 在不在\n" not in (project["nlu"] / "nlu.yml").read_text(encoding="utf-8")
    assert "    - 在不在\n" in (project["nlu"] / "reviewed" / "ask_identity.yml").read_text(encoding="utf-8")

    gone = {"intent": "complain", "text": "白塔街道的路灯一到晚上就全灭了"}
    assert (await admin_client.delete("/api/nlu/examples", json=gone, headers=admin_headers)).status == 200
    assert not (project["nlu"] / "reviewed" / "complain.yml").exists()
    generated = await (
        await admin_client.get("/api/nlu/examples?intent=complain", headers=admin_headers)
    ).json()
    first = next(e for e in generated["examples"] if e["file"] == "from_dispatch_data.yml")
    refused = await admin_client.delete(
        "/api/nlu/examples", json={"intent": "complain", "text": first["text"]}, headers=admin_headers
    )
    assert refused.status == 403


async def test_lookup_tables_and_synonyms(admin_client, admin_headers, project):
    streets = {"examples": ["东湖街道", "白塔街道", "东湖街道", " "]}
    resp = await admin_client.put("/api/nlu/tables/lookup/street", json=streets, headers=admin_headers)
    assert resp.status == 200 and (await resp.json())["file"] == "reviewed/lookup_street.yml"
    synonyms = {"examples": ["东湖", "东湖街"]}
    assert (
        await admin_client.put("/api/nlu/tables/synonym/东湖街道", json=synonyms, headers=admin_headers)
    ).status == 200
    clash = await admin_client.put(
        "/api/nlu/tables/synonym/白塔街道", json={"examples": ["东湖"]}, headers=admin_headers
    )
    assert clash.status == 409
    bad = await admin_client.put("/api/nlu/tables/lookup/Street-Names", json=streets, headers=admin_headers)
    assert bad.status == 422
    tables = await (await admin_client.get("/api/nlu/tables", headers=admin_headers)).json()
    assert tables == {
        "lookups": {"street": ["东湖街道", "白塔街道"]},
        "synonyms": {"东湖街道": ["东湖", "东湖街"]},
    }


async def test_a_dispatch_scenario_must_exist_in_the_city_profile(admin_client, admin_headers):
    event = {
        "sender_id": "web-s",
        "event": "user",
        "timestamp": 1.0,
        "text": "工地半夜还在浇混凝土吵死了",
        "parse_data": {"intent": {"name": "complain", "confidence": 0.5}},
    }
    await admin_client.post("/api/rasa/events", json={"events": [event]})
    queue = await (await admin_client.get("/api/review", headers=admin_headers)).json()
    assert "noise.construction_night" in queue["scenarios"]
    url = f"/api/review/{queue['items'][0]['id']}"
    wrong = {"action": "annotate", "intent": "complain", "scenario": "noise.nothing"}
    assert (await admin_client.post(url, json=wrong, headers=admin_headers)).status == 422
    right = {"action": "annotate", "intent": "complain", "scenario": "noise.construction_night"}
    done = await (await admin_client.post(url, json=right, headers=admin_headers)).json()
    assert done["resolution"]["scenario"] == "noise.construction_night"
