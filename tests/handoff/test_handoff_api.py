"""The hand-off desk over HTTP, against a fake Rasa, on the in-memory and Redis stores."""

from __future__ import annotations

import asyncio
import json

from desk.handoff.routes import HANDOFFS
from tests.handoff.conftest import login

OPERATOR_1 = ("wangmin", "operator-pass-1")
OPERATOR_2 = ("lijing", "operator-pass-2")


async def _escalate(desk, sender: str, reason: str = "explicit", **draft) -> dict:
    body = {"sender_id": sender, "channel": "webchat", "reason": reason, "draft": draft}
    response = await desk.post("/api/handoffs", json=body)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_escalations_queue_up_with_positions_and_reasons(desk) -> None:
    assert (await _escalate(desk, "web-1"))["position"] == 1
    assert (await _escalate(desk, "web-2", "misunderstood"))["position"] == 2
    assert (await _escalate(desk, "web-1"))["position"] == 1  # asking twice does not requeue
    urgent = await _escalate(desk, "web-3", "urgent", description="闻到煤气味")
    assert urgent["position"] == 1 and urgent["waiting"] == 3
    headers = await login(desk, *OPERATOR_1)
    queue = await (await desk.get("/api/handoffs", headers=headers)).json()
    assert [h["sender_id"] for h in queue] == ["web-3", "web-1", "web-2"]
    assert queue[0]["urgent"] and queue[0]["reason_text"] == "紧急情况" and queue[0]["waiting_s"] >= 0
    assert queue[2]["reason_text"] == "连续两次未能理解"
    status = await (await desk.get("/api/handoffs/web-2/status")).json()
    assert status == {**status, "state": "waiting", "position": 3}


async def test_unknown_reasons_and_bad_bodies_are_refused(desk) -> None:
    response = await desk.post("/api/handoffs", json={"sender_id": "web-1", "reason": "bored"})
    assert response.status == 422
    assert (await desk.post("/api/handoffs", data=b"nope")).status == 400


async def test_operator_endpoints_need_a_login_and_the_audit_log_an_admin(desk) -> None:
    await _escalate(desk, "web-1")
    assert (await desk.get("/api/handoffs")).status == 401
    assert (await desk.post("/api/handoffs/web-1/claim")).status == 401
    assert (await desk.post("/api/handoffs/web-1/messages", json={"text": "你好"})).status == 401
    assert (await desk.post("/api/handoffs/web-1/release")).status == 401
    bad = {"Authorization": "Bearer forged.token"}
    assert (await desk.get("/api/handoffs", headers=bad)).status == 401
    operator = await login(desk, *OPERATOR_1)
    assert (await desk.get("/api/audit", headers=operator)).status == 403
    assert (await desk.get("/api/audit", headers=await login(desk))).status == 200


async def test_claim_pauses_the_bot_and_a_second_operator_is_refused(desk, fake_rasa) -> None:
    await _escalate(desk, "web-1")
    first, second = await login(desk, *OPERATOR_1), await login(desk, *OPERATOR_2)
    claimed = await desk.post("/api/handoffs/web-1/claim", headers=first)
    assert claimed.status == 200 and (await claimed.json())["operator"] == "wangmin"
    assert fake_rasa.paused("web-1")
    assert fake_rasa.said_to("web-1") == ["您好，我是人工客服wangmin，接下来由我为您服务。"]
    assert fake_rasa.calls[0]["query"]["output_channel"] == "latest"
    assert fake_rasa.calls[0]["query"]["execute_side_effects"] == "true"
    refused = await desk.post("/api/handoffs/web-1/claim", headers=second)
    assert refused.status == 409 and "wangmin" in (await refused.json())["error"]["message"]
    assert (
        await desk.post("/api/handoffs/web-1/messages", json={"text": "我来"}, headers=second)
    ).status == 403
    assert (await desk.post("/api/handoffs/nobody/claim", headers=first)).status == 404


async def test_operator_messages_go_into_the_tracker_as_the_operator(desk, fake_rasa) -> None:
    await _escalate(desk, "web-1")
    headers = await login(desk, *OPERATOR_1)
    assert (
        await desk.post("/api/handoffs/web-1/messages", json={"text": "你好"}, headers=headers)
    ).status == 409
    await desk.post("/api/handoffs/web-1/claim", headers=headers)
    sent = await desk.post(
        "/api/handoffs/web-1/messages", json={"text": "请问具体在哪个小区？"}, headers=headers
    )
    assert sent.status == 201
    last = fake_rasa.events["web-1"][-1]
    assert last == {
        "event": "bot",
        "text": "请问具体在哪个小区？",
        "data": {"custom": {"operator": "wangmin"}},
    }
    assert (await desk.post("/api/handoffs/web-1/messages", json={"text": ""}, headers=headers)).status == 422


async def test_citizen_messages_reach_the_console_live(desk) -> None:
    await _escalate(desk, "web-1")
    headers = await login(desk, *OPERATOR_1)
    token = headers["Authorization"].split()[1]
    async with desk.ws_connect(f"/api/handoffs/live?token={token}") as ws:
        await desk.post("/api/handoffs/web-1/claim", headers=headers)
        event = {
            "sender_id": "web-1",
            "event": "user",
            "text": "就是东门那个",
            "timestamp": 5.0,
            "metadata": {"webchat": {"type": "voice"}},
        }
        other = {"sender_id": "web-9", "event": "user", "text": "别人的对话", "timestamp": 5.0}
        await desk.post("/api/rasa/events", json={"events": [other, event]})
        frames = []
        while not any(f.get("type") == "message" for f in frames):
            frames.append(json.loads((await asyncio.wait_for(ws.receive(), 5)).data))
    message = next(f for f in frames if f["type"] == "message")
    assert (
        message["sender_id"] == "web-1" and message["from"] == "citizen" and message["text"] == "就是东门那个"
    )
    assert message["voice"] is True


async def test_the_live_feed_needs_a_valid_token(desk) -> None:
    response = await desk.get("/api/handoffs/live?token=forged")
    assert response.status == 401


async def test_hand_back_resumes_the_bot_and_close_says_goodbye(desk, fake_rasa) -> None:
    headers = await login(desk, *OPERATOR_1)
    for sender in ("web-1", "web-2"):
        await _escalate(desk, sender)
        await desk.post(f"/api/handoffs/{sender}/claim", headers=headers)
    assert (await desk.post("/api/handoffs/web-1/release", headers=headers)).status == 200
    assert not fake_rasa.paused("web-1") and "智能助手继续为您服务" in fake_rasa.said_to("web-1")[-1]
    slot = next(e for e in fake_rasa.events["web-1"] if e["event"] == "slot")
    assert slot == {"event": "slot", "name": "handoff_state", "value": None}
    closed = await desk.post(
        "/api/handoffs/web-2/release", json={"close": True, "note": "已解答"}, headers=headers
    )
    assert closed.status == 200 and "本次人工服务已结束" in fake_rasa.said_to("web-2")[-1]
    assert (await (await desk.get("/api/handoffs", headers=headers)).json()) == []
    audit = await (await desk.get("/api/audit?target=web-2", headers=await login(desk))).json()
    assert [e["action"] for e in audit] == ["handoff.close", "handoff.claim", "handoff.queue"]
    assert audit[0]["actor"] == "wangmin" and audit[0]["details"] == {"note": "已解答"}


async def test_a_silent_operator_loses_the_conversation_back_to_the_queue(desk, fake_rasa) -> None:
    await _escalate(desk, "web-1")
    headers = await login(desk, *OPERATOR_1)
    await desk.post("/api/handoffs/web-1/claim", headers=headers)
    service = desk.app[HANDOFFS]
    service.operator_timeout_s = 0.2
    await asyncio.sleep(0.3)
    assert await service.requeue_stale() == 1
    entry = (await (await desk.get("/api/handoffs", headers=await login(desk, *OPERATOR_2))).json())[0]
    assert entry["state"] == "waiting" and entry["operator"] is None and "wangmin" in entry["note"]
    assert fake_rasa.paused("web-1") and "重新转接" in fake_rasa.said_to("web-1")[-1]
    second = await login(desk, *OPERATOR_2)
    assert (await desk.post("/api/handoffs/web-1/claim", headers=second)).status == 200


async def test_the_draft_becomes_a_ticket_with_a_dispatch_suggestion(desk, fake_rasa) -> None:
    await _escalate(desk, "web-1", description="小区门口烧烤摊油烟很大", location="城东区东湖街道幸福小区")
    headers = await login(desk, *OPERATOR_1)
    await desk.post("/api/handoffs/web-1/claim", headers=headers)
    fake_rasa.citizen_says("web-1", "晚上十点以后还在烤")
    view = await (await desk.get("/api/handoffs/web-1", headers=headers)).json()
    assert view["draft"]["description"] == "小区门口烧烤摊油烟很大"
    assert view["suggestion"]["owner"] and view["suggestion"]["owner_name"] and view["suggestion"]["sure"]
    assert view["suggestion"]["label"].count(".") == 1
    assert [t["from"] for t in view["transcript"]][-1] == "citizen"
    edited = await desk.put("/api/handoffs/web-1/draft", json={"phone": "13912345678"}, headers=headers)
    assert (await edited.json())["draft"]["phone"] == "13912345678"
    response = await desk.post(
        "/api/handoffs/web-1/ticket", json={"occurred_at": "每天晚上"}, headers=headers
    )
    assert response.status == 201
    ticket = await response.json()
    assert (
        ticket["sender_id"] == "web-1"
        and ticket["channel"] == "webchat"
        and ticket["occurred_at"] == "每天晚上"
    )
    bad = await desk.post("/api/handoffs/web-1/ticket", json={"phone": "12"}, headers=headers)
    assert bad.status == 422


async def test_rasa_down_during_a_claim_leaves_the_conversation_waiting(desk, fake_rasa) -> None:
    await _escalate(desk, "web-1")
    headers = await login(desk, *OPERATOR_1)
    fake_rasa.down = True
    response = await desk.post("/api/handoffs/web-1/claim", headers=headers)
    assert response.status == 503
    status = await (await desk.get("/api/handoffs/web-1/status")).json()
    assert status["state"] == "waiting"


async def test_a_waiting_citizen_may_leave_the_queue(desk) -> None:
    await _escalate(desk, "web-1")
    assert (await desk.delete("/api/handoffs/web-1")).status == 200
    assert (await (await desk.get("/api/handoffs/web-1/status")).json())["state"] == "none"
    assert (await desk.delete("/api/handoffs/web-1")).status == 404


async def test_the_live_copy_and_rasas_logged_event_show_the_message_once(desk) -> None:
    await _escalate(desk, "web-1")
    headers = await login(desk, *OPERATOR_1)
    token = headers["Authorization"].split()[1]
    live = {
        "sender_id": "web-1",
        "event": "user_live",
        "text": "路灯不亮",
        "timestamp": 5.0,
        "message_id": "m-7",
    }
    logged = {**live, "event": "user", "parse_data": {"intent": {"name": "complain", "confidence": 0.9}}}
    later = {**logged, "message_id": "m-8", "text": "还是不亮"}
    async with desk.ws_connect(f"/api/handoffs/live?token={token}") as ws:
        for event in (live, logged, later):
            await desk.post("/api/rasa/events", json={"events": [event]})
        texts = []
        while len(texts) < 2:
            frame = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            if frame.get("type") == "message":
                texts.append(frame["text"])
    assert texts == ["路灯不亮", "还是不亮"]  # the logged copy of m-7 was not shown again
