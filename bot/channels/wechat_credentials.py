"""Turns the WeChat channel on for ``rasa run`` only when it is configured.

Rasa refuses to start when credentials.yml names an unset ``${VAR}``, so the WeChat block
cannot sit there unconditionally for a machine without a WeChat account. ``credentials_for_run``
returns the file to pass to ``--credentials``: credentials.yml itself when ``WECHAT_TOKEN`` is
set (filling the optional variables' defaults into the environment), otherwise a copy under
``out_dir`` without the WeChat block.
"""

from __future__ import annotations

from pathlib import Path
from typing import MutableMapping

import yaml

from bot.channels.wechat_api import DEFAULT_API_BASE

CHANNEL_KEY = "bot.channels.wechat.WeChatInput"
OPTIONAL_DEFAULTS = {
    "WECHAT_AES_KEY": "",  # empty: plaintext mode
    "WECHAT_API_BASE": DEFAULT_API_BASE,
    "WECHAT_STORE": "in_memory",
    "WECHAT_TEMPLATE_ID": "",  # empty: no notices outside the 48 h window
    "SPEECH_URL": "",  # empty: untranscribed voice messages get a polite answer
    "DESK_URL": "",  # empty: pictures keep WeChat's own (expiring) link
}
# The web chat and voice channels are always on; their variables get these defaults when unset.
WEBCHAT_DEFAULTS = {"WEBCHAT_STORE": "in_memory", "WEBCHAT_ORIGINS": "*", "SPEECH_URL": ""}


def credentials_for_run(base: Path, environ: MutableMapping[str, str], out_dir: Path) -> Path:
    """The credentials file for ``rasa run`` given the environment it will run with.

    Args:
        base: credentials.yml, which may hold the ``bot.channels.wechat.WeChatInput`` block.
        environ: the Rasa process's environment; optional WeChat variables get defaults here.
        out_dir: where the copy without WeChat goes when ``WECHAT_TOKEN`` is unset.
    """
    for name, default in WEBCHAT_DEFAULTS.items():
        environ.setdefault(name, default)
    if environ.get("WECHAT_TOKEN", "").strip():
        for name, default in OPTIONAL_DEFAULTS.items():
            environ.setdefault(name, default)
        return base
    channels = yaml.safe_load(base.read_text(encoding="utf-8")) or {}
    if CHANNEL_KEY not in channels:
        return base
    del channels[CHANNEL_KEY]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "credentials.yml"
    header = f"# Generated from {base.name} without the WeChat channel (WECHAT_TOKEN is unset).\n"
    target.write_text(
        header + yaml.safe_dump(channels, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return target
