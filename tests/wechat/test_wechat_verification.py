"""Callbacks that fail verification get 4xx and touch nothing: no bot turn, no store, no API."""

from __future__ import annotations

import logging
import time
from typing import Callable, List

import aiohttp
import pytest
import xmltodict

from bot.channels.wechat import WeChatInput
from bot.channels.wechat_security import signature_of
from tests.wechat.wechat_harness import (
    AES_KEY,
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    TOKEN,
    ChannelServer,
    FakeBot,
    FakeWeChatApi,
    encrypt_for_wechat,
    signed_params,
    text_xml,
)


async def _assert_untouched(channel: WeChatInput, bot: FakeBot, fake_api: FakeWeChatApi) -> None:
    assert bot.received == []
    assert fake_api.token_requests == 0 and fake_api.sent == []
    assert await channel.store.claim("id:1001", ttl_s=1), "the message id must not have been claimed"


async def test_get_echoes_echostr_when_signed(make_channel: Callable[..., WeChatInput]) -> None:
    async with ChannelServer(make_channel(), FakeBot()) as server:
        assert await server.get(dict(signed_params(), echostr="1234567890")) == (200, "1234567890")
        forged = dict(signed_params(token="wrong"), echostr="1234567890")
        assert (await server.get(forged))[0] == 403
        stale = dict(signed_params(timestamp=int(time.time()) - 600), echostr="1")
        assert (await server.get(stale))[0] == 403


async def test_get_decrypts_echostr_in_safe_mode(make_channel: Callable[..., WeChatInput]) -> None:
    import base64

    from wechatpy.crypto import PrpCrypto

    ciphertext = (
        PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt("echo-7788", "wx5823bf96d3bd56c7").decode()
    )
    params = signed_params()
    params.update(
        echostr=ciphertext,
        msg_signature=signature_of(TOKEN, params["timestamp"], params["nonce"], ciphertext),
    )
    async with ChannelServer(make_channel(aes_key=AES_KEY), FakeBot()) as server:
        assert await server.get(params) == (200, "echo-7788")
        assert (await server.get(dict(params, msg_signature="0" * 40)))[0] == 403
        # the plaintext check still works while safe mode is configured
        assert await server.get(dict(signed_params(), echostr="plain")) == (200, "plain")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "n1"},
        "wrong-token",
        "tampered-nonce",
    ],
    ids=["unsigned", "zero-signature", "wrong-token", "tampered-nonce"],
)
async def test_a_forged_signature_is_refused_with_403(
    params: object,
    make_channel: Callable[..., WeChatInput],
    fake_api: FakeWeChatApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if params == "wrong-token":
        params = signed_params(token="not-our-token")
    elif params == "tampered-nonce":
        params = dict(signed_params(), nonce="other")
    bot = FakeBot()
    channel = make_channel()
    caplog.set_level(logging.INFO, logger="bot.channels")
    async with ChannelServer(channel, bot) as server:
        status, _ = await server.post(text_xml("你好"), params=params)  # type: ignore[arg-type]
        assert status == 403
        await _assert_untouched(channel, bot, fake_api)
    assert "wechat.message.rejected reason=signature_" in caplog.text


@pytest.mark.parametrize("skew", [-301, 301, -3600])
async def test_a_stale_or_future_timestamp_is_refused(
    skew: int, make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot, channel = FakeBot(), make_channel()
    async with ChannelServer(channel, bot) as server:
        status, _ = await server.post(
            text_xml("你好"), params=signed_params(timestamp=int(time.time()) + skew)
        )
        assert status == 403
        assert (
            await server.post(
                text_xml("你好", msg_id=1002), params=signed_params(timestamp=int(time.time()) - 200)
            )
        )[0] == 200
        bot.received.clear()
        await _assert_untouched(channel, bot, fake_api)


async def test_an_oversized_body_is_refused_with_413(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot, channel = FakeBot(), make_channel()
    huge = text_xml("投诉" * 20_000)
    assert len(huge) > 64 * 1024
    async with ChannelServer(channel, bot) as server:
        assert (await server.post(huge))[0] == 413

        async def chunks():  # no Content-Length: the cap applies while reading
            for _ in range(100):
                yield b"<xml>" + b"a" * 1000

        async with aiohttp.ClientSession() as session:
            async with session.post(server.url, params=signed_params(), data=chunks()) as response:
                assert response.status == 413
        await _assert_untouched(channel, bot, fake_api)


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><MsgType>text</MsgType",
        b"not xml at all",
        b"<html><body/></html>",
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b"",
    ],
    ids=["truncated", "not-xml", "wrong-root", "billion-laughs", "external-entity", "empty"],
)
async def test_malformed_xml_and_entity_payloads_are_refused_with_400(
    body: bytes,
    make_channel: Callable[..., WeChatInput],
    fake_api: FakeWeChatApi,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen_by_xmltodict: List[object] = []
    monkeypatch.setattr(xmltodict, "parse", lambda *args, **kw: seen_by_xmltodict.append(args))
    caplog.set_level(logging.INFO, logger="bot.channels")
    bot, channel = FakeBot(), make_channel()
    async with ChannelServer(channel, bot) as server:
        assert (await server.post(body))[0] == 400
        await _assert_untouched(channel, bot, fake_api)
    assert seen_by_xmltodict == []  # wechatpy's parser never saw it
    if b"<!ENTITY" in body:
        assert "reason=xml_forbidden_construct" in caplog.text


async def test_entity_payloads_inside_the_ciphertext_are_refused_too(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot, channel = FakeBot(), make_channel(aes_key=AES_KEY)
    async with ChannelServer(channel, bot) as server:
        body, query = encrypt_for_wechat(BILLION_LAUGHS, signed_params())
        assert (await server.post(body, params=query))[0] == 400
        await _assert_untouched(channel, bot, fake_api)


async def test_safe_mode_refuses_plaintext_bad_msg_signature_and_other_appids(
    make_channel: Callable[..., WeChatInput], fake_api: FakeWeChatApi
) -> None:
    bot, channel = FakeBot(), make_channel(aes_key=AES_KEY)
    async with ChannelServer(channel, bot) as server:
        assert (await server.post(text_xml("明文"), params=signed_params()))[0] == 403
        body, query = encrypt_for_wechat(text_xml("你好"), signed_params())
        assert (await server.post(body, params=dict(query, msg_signature="f" * 40)))[0] == 403
        other_body, other_query = encrypt_for_wechat(
            text_xml("你好"), signed_params(), appid="wxSomeoneElse0000"
        )
        assert (await server.post(other_body, params=other_query))[0] == 403
        await _assert_untouched(channel, bot, fake_api)


async def test_plaintext_mode_refuses_encrypted_callbacks(make_channel: Callable[..., WeChatInput]) -> None:
    bot = FakeBot()
    async with ChannelServer(make_channel(), bot) as server:
        body, query = encrypt_for_wechat(text_xml("你好"), signed_params())
        assert (await server.post(body, params=query))[0] == 400
    assert bot.received == []
