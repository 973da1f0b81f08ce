"""Real-browser tests (headless Chromium via Playwright) against the running stack."""

from __future__ import annotations

import os
import re

from tests.e2e.conftest import OPERATOR, http

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TICKET_ID = re.compile(r"工单编号\s*(SF\d{12})")


def _screenshot(page, name: str) -> None:
    """Saves a picture of the page when REXIAN_SCREENSHOTS names a directory (for reviewing the UI)."""
    directory = os.environ.get("REXIAN_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def _bot_bubbles(page) -> list:
    return page.locator(".row.bot .bubble").all_inner_texts()


def _wait_for_bot(page, text: str, timeout_ms: int = 60_000) -> None:
    page.locator(".row.bot .bubble", has_text=text).last.wait_for(timeout=timeout_ms)


def _say(page, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")


def test_a_complaint_on_the_web_chat_ends_with_a_ticket_number(stack, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{stack.desk}/chat")
    page.locator(".notice", has_text="12345 智能助手").wait_for()
    assert page.locator("#quick button", has_text="我要投诉").is_visible()

    _say(page, "小区门口的烧烤摊天天占道经营，晚上烟熏火燎")
    _wait_for_bot(page, "什么地方")
    page.set_input_files("#image", files=[{"name": "shaokao.png", "mimeType": "image/png", "buffer": PNG}])
    page.locator(".row.user img").wait_for()
    _say(page, "城东区东湖街道幸福小区门口")
    _wait_for_bot(page, "电话")
    _say(page, "13912345678")
    _wait_for_bot(page, "请核对")
    page.locator("#quick button", has_text="确认提交").click()
    _wait_for_bot(page, "工单编号")

    _screenshot(page, "chat-receipt")
    receipt = next(t for t in _bot_bubbles(page) if "工单编号" in t)
    ticket_id = TICKET_ID.search(receipt).group(1)
    status, ticket = http("GET", f"{stack.desk}/api/tickets/{ticket_id}")
    assert status == 200
    assert ticket["channel"] == "webchat" and ticket["sender_id"].startswith("web-")
    assert "/uploads/" in ticket["description"]  # the picture travels with the complaint

    page.reload()  # the same session: the whole conversation comes back
    page.locator(".row.bot .bubble", has_text=ticket_id).wait_for()
    assert page.locator(".row.user .bubble", has_text="13912345678").count() == 1
    context.close()


def _assistant_bubbles(page) -> int:
    return page.locator(".row.bot .who", has_text="12345 智能助手").count()


def test_an_operator_takes_over_a_web_chat_and_hands_it_back(stack, browser):
    citizen = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    citizen.goto(f"{stack.desk}/chat")
    citizen.locator(".notice", has_text="12345 智能助手").wait_for()
    _say(citizen, "转人工")
    _wait_for_bot(citizen, "正在为您转接人工客服")

    operator = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
    operator.goto(f"{stack.desk}/console")
    operator.fill("#username", OPERATOR[0])
    operator.fill("#password", OPERATOR[1])
    operator.click("#login-form button[type=submit]")
    operator.locator("#live", has_text="实时连接正常").wait_for()
    operator.locator("#queue li", has_text="市民要求转人工").first.click()
    operator.locator("#transcript .line.citizen", has_text="转人工").wait_for()
    operator.click("#claim")
    citizen.locator(".row.bot .who", has_text="人工客服").first.wait_for(timeout=15_000)
    bot_before = _assistant_bubbles(citizen)

    _say(citizen, "我家楼下的路灯坏了一个星期了")
    operator.locator("#transcript .line.citizen", has_text="路灯坏了一个星期").wait_for(timeout=15_000)
    operator.fill("#reply", "好的，请问具体在哪条路？")
    operator.press("#reply", "Enter")
    citizen.locator(".row.bot .bubble", has_text="请问具体在哪条路").wait_for(timeout=15_000)
    assert _assistant_bubbles(citizen) == bot_before  # the bot said nothing during the takeover
    _screenshot(operator, "console-takeover")
    _screenshot(citizen, "chat-takeover")

    operator.click("#release")
    _wait_for_bot(citizen, "智能助手继续为您服务", timeout_ms=15_000)
    after_release = _assistant_bubbles(citizen)
    _say(citizen, "你们是哪个部门")
    citizen.locator(".row.bot .who", has_text="12345 智能助手").nth(after_release).wait_for(timeout=30_000)
    _wait_for_bot(citizen, "受理市民的投诉")  # the identity answer: the bot talks again, with context kept
    status, _ = http("GET", f"{stack.desk}/api/handoffs")
    assert status == 401  # the queue is for logged-in operators only
