"""End to end: `scripts/run_stack.py` (what `make run` starts), a complaint over Rasa's
REST channel, the ticket in desk, then Ctrl-C leaves nothing running."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path
from typing import List

from tests.e2e.conftest import http


def joined(replies: List[str]) -> str:
    return "\n".join(replies)


def test_complaint_becomes_a_routed_ticket(stack):
    sender = "e2e-citizen-1"
    asked = joined(stack.say(sender, "小区门口的烧烤摊天天占道经营，晚上烟熏火燎"))
    assert "什么地方" in asked
    assert "电话" in joined(stack.say(sender, "城东区东湖街道幸福小区门口"))
    readback = joined(stack.say(sender, "139 1234 5678"))
    assert "请核对" in readback and "139****5678" in readback and "东湖街道" in readback
    corrected = joined(stack.say(sender, "地址说错了，是城西区白塔街道锦绣路12号"))
    assert "城西区白塔街道锦绣路12号" in corrected and "烧烤摊" in corrected
    receipt = joined(stack.say(sender, "确认"))
    assert "工单编号 SF" in receipt

    status, tickets = http("GET", f"{stack.desk}/api/tickets?sender_id={sender}")
    assert status == 200 and len(tickets) == 1
    ticket = tickets[0]
    assert ticket["id"] in receipt
    assert (ticket["owner"], ticket["district"], ticket["street"]) == ("URBAN", "城西区", "白塔街道")
    assert ticket["phone"] == "139****5678"

    lookup = joined(stack.say(sender, f"帮我查一下工单 {ticket['id']}"))
    assert ticket["id"] in lookup and "市城市管理综合行政执法局" in lookup


def test_question_mid_form_is_answered_and_the_form_resumes(stack):
    sender = "e2e-citizen-2"
    stack.say(sender, "城东区望江街道有个工地每天半夜还在施工，吵得睡不着")
    answer = joined(stack.say(sender, "你们是哪个部门？"))
    assert "12345" in answer and "电话" in answer  # identity, then the phone question again
    stack.say(sender, "匿名")
    assert "工单编号 SF" in joined(stack.say(sender, "确认"))
    _, tickets = http("GET", f"{stack.desk}/api/tickets?sender_id={sender}")
    assert tickets[0]["owner"] == "HOUSING" and tickets[0]["phone"] is None


def test_policy_question_is_answered_with_its_source_and_creates_no_ticket(stack):
    sender = "e2e-citizen-4"
    first = joined(stack.say(sender, "居住证怎么办理"))
    assert "来源：《示范市居住证申领、签注与补领办事指南》" in first
    follow_up = joined(stack.say(sender, "那要带什么材料？"))
    assert "居住证" in follow_up and "来源" in follow_up
    refused = joined(stack.say(sender, "明天股票会涨吗"))
    assert "没有找到" in refused and "来源" not in refused
    _, tickets = http("GET", f"{stack.desk}/api/tickets?sender_id={sender}")
    assert tickets == []


def test_long_and_empty_messages_lose_nothing(stack):
    sender = "e2e-citizen-3"
    long_text = "楼下饭店油烟太大" + "熏得家里全是味道" * 1250
    assert len(long_text) > 10_000
    replies = stack.say(sender, long_text)
    assert replies, "the bot must answer a very long message"
    status, tracker = http("GET", f"{stack.rasa}/conversations/{sender}/tracker")
    assert status == 200
    said = [e["text"] for e in tracker["events"] if e.get("event") == "user"]
    assert long_text in said
    status, _ = http("POST", f"{stack.rasa}/webhooks/rest/webhook", {"sender": sender, "message": ""})
    assert status == 200


def test_bad_bodies_get_clear_errors(stack):
    status, _ = http("POST", f"{stack.rasa}/webhooks/rest/webhook", raw=b"not json")
    assert 400 <= status < 500
    status, body = http("POST", f"{stack.desk}/api/tickets", raw=b"not json")
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body = http("GET", f"{stack.desk}/api/tickets/SF000000000000")
    assert status == 404


def test_ctrl_c_stops_every_process(stack):
    children = _descendants(stack.process.pid)
    assert children, "the stack should have started its services"
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=60) == 0
    time.sleep(1)
    alive = [pid for pid in children if _alive(pid)]
    assert alive == [], f"left running: {alive}"
    for port in stack.ports.values():
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"


def _descendants(pid: int) -> List[int]:
    found: List[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
                found.extend(_descendants(int(entry.name)))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
