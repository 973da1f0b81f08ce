"""Configuration: credentials.yml as Rasa reads it, fail-fast settings, `make run` without WeChat."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict
from unittest import mock

import pytest
import yaml
from rasa.core.channels.channel import register
from rasa.core.run import create_http_input_channels
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from bot.channels.wechat import WeChatInput
from bot.channels.wechat_credentials import CHANNEL_KEY, credentials_for_run
from bot.channels.wechat_store import InMemoryWeChatStore, RedisWeChatStore
from tests.wechat.wechat_harness import AES_KEY, APPID, SECRET, TOKEN

ROOT = Path(__file__).resolve().parents[2]

WECHAT_BLOCK = """
rest:
bot.channels.wechat.WeChatInput:
  token: ${WECHAT_TOKEN}
  appid: ${WECHAT_APPID}
  secret: ${WECHAT_SECRET}
  aes_key: ${WECHAT_AES_KEY}
  api_base: ${WECHAT_API_BASE}
  store: ${WECHAT_STORE}
"""
REQUIRED = {"token": TOKEN, "appid": APPID, "secret": SECRET}


def test_rasa_loads_the_channel_from_credentials_yml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_AES_KEY": "",
        "WECHAT_API_BASE": "http://127.0.0.1:9999",
        "WECHAT_STORE": "redis://127.0.0.1:6379/2",
    }.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "credentials.yml"
    path.write_text(WECHAT_BLOCK, encoding="utf-8")
    channels = create_http_input_channels(None, str(path))
    [wechat] = [c for c in channels if isinstance(c, WeChatInput)]
    assert wechat.name() == "wechat" and wechat.cipher is None
    assert isinstance(wechat.store, RedisWeChatStore)
    app = Sanic("wechat_config_test", configure_logging=False)
    register(channels, app, route="/webhooks/")
    uris = {route.uri for route in app.router.routes}
    assert "/webhooks/wechat/webhook" in uris and "/webhooks/rest/webhook" in uris


@pytest.mark.parametrize("missing", ["token", "appid", "secret"])
def test_a_missing_required_setting_fails_at_start_up(missing: str) -> None:
    credentials: Dict[str, Any] = dict(REQUIRED, **{missing: ""})
    with pytest.raises(RasaException, match=missing):
        WeChatInput.from_credentials(credentials)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"aes_key": "too-short"}, "EncodingAESKey"),
        ({"aes_key": "!" * 43}, "EncodingAESKey"),
        ({"store": "memcached://x"}, "unknown WeChat store"),
        ({"api_base": "ftp://x"}, "api_base"),
        ({"passive_timeout": "6"}, "passive_timeout"),
    ],
)
def test_bad_settings_fail_at_start_up(settings: Dict[str, str], match: str) -> None:
    with pytest.raises(RasaException, match=match):
        WeChatInput.from_credentials(dict(REQUIRED, **settings))


def test_no_credentials_fail_at_start_up() -> None:
    with pytest.raises(RasaException):
        WeChatInput.from_credentials(None)


def test_defaults_are_plaintext_in_memory_and_the_real_api() -> None:
    channel = WeChatInput.from_credentials(dict(REQUIRED, aes_key=None, api_base="", store=""))
    assert isinstance(channel, WeChatInput)
    assert channel.cipher is None and isinstance(channel.store, InMemoryWeChatStore)
    assert channel.api._api_base == "https://api.weixin.qq.com"
    safe = WeChatInput.from_credentials(dict(REQUIRED, aes_key=AES_KEY))
    assert isinstance(safe, WeChatInput) and safe.cipher is not None


def test_make_run_drops_the_wechat_block_when_wechat_token_is_unset(tmp_path: Path) -> None:
    base = tmp_path / "credentials.yml"
    base.write_text("# channels\n" + WECHAT_BLOCK, encoding="utf-8")
    environ: Dict[str, str] = {}
    chosen = credentials_for_run(base, environ, tmp_path / "var")
    assert chosen != base
    assert yaml.safe_load(chosen.read_text(encoding="utf-8")) == {"rest": None}
    assert create_http_input_channels(None, str(chosen))  # Rasa starts: no unset ${VAR}
    assert environ == {"WEBCHAT_STORE": "in_memory", "WEBCHAT_ORIGINS": "*", "SPEECH_URL": ""}


def test_the_projects_credentials_start_rasa_with_the_web_chat_on_embedded_defaults(tmp_path: Path) -> None:
    environ: Dict[str, str] = {}
    chosen = credentials_for_run(ROOT / "credentials.yml", environ, tmp_path / "var")
    with mock.patch.dict(os.environ, environ):
        channels = create_http_input_channels(None, str(chosen))
    assert {c.name() for c in channels} == {"rest", "webchat", "voice"}


def test_make_run_keeps_the_block_and_fills_optional_defaults_when_set(tmp_path: Path) -> None:
    base = tmp_path / "credentials.yml"
    base.write_text(WECHAT_BLOCK, encoding="utf-8")
    environ = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_STORE": "in_memory",
    }
    assert credentials_for_run(base, environ, tmp_path / "var") == base
    assert environ["WECHAT_AES_KEY"] == "" and environ["WECHAT_API_BASE"] == "https://api.weixin.qq.com"
    assert environ["WECHAT_STORE"] == "in_memory"
    assert CHANNEL_KEY in yaml.safe_load(base.read_text(encoding="utf-8"))
