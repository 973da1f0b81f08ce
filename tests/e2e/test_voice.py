"""A complaint spoken on the phone line (audio through the voice channel) ends in a ticket."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.e2e.conftest import http
from tests.speech.conftest import MODEL_CACHE, SPEECH_PYTHON, mandarin, skip_or_fail  # noqa: F401


@pytest.fixture(scope="module")
def speaking(stack, mandarin):  # noqa: F811  (the fixture imported above)
    if not (SPEECH_PYTHON.exists() and MODEL_CACHE.is_dir()):
        skip_or_fail("the speech service is not set up (speech/setup.sh)")
    return mandarin


def _say(stack, sender: str, audio: bytes) -> dict:
    url = f"{stack.rasa}/webhooks/voice/audio?sender={sender}"
    request = urllib.request.Request(url, data=audio, method="POST")
    with urllib.request.urlopen(request, timeout=180) as response:
        return json.loads(response.read())


def _replies(answer: dict) -> str:
    return "\n".join(r.get("text", "") for r in answer["replies"])


def test_a_spoken_complaint_ends_in_a_ticket(stack, speaking):
    sender = "call-e2e-1"
    first = _say(stack, sender, speaking("小区门口的烧烤摊天天晚上占道经营，油烟很大"))
    assert "烧烤" in first["transcript"] and "什么地方" in _replies(first)
    place = _say(stack, sender, speaking("在城东区东湖街道幸福小区门口"))
    assert "电话" in _replies(place), place
    phone = _say(stack, sender, speaking("我的电话是13912345678"))
    assert "13912345678" in phone["transcript"] and "请核对" in _replies(phone), phone
    receipt = _replies(_say(stack, sender, speaking("确认提交")))
    assert "工单编号 SF" in receipt

    status, tickets = http("GET", f"{stack.desk}/api/tickets?sender_id={sender}")
    assert status == 200 and len(tickets) == 1
    assert tickets[0]["channel"] == "voice" and tickets[0]["id"] in receipt
    assert tickets[0]["district"] == "城东区"
