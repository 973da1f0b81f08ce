"""A short domain prompt for Whisper, built from the city profile.

Whisper conditions its decoding on a previous-text prompt. Hotline vocabulary (the city,
its districts and streets, the complaint categories) steers it toward the right words
and toward simplified characters. The prompt is kept short: Whisper reads at most 223
prompt tokens, and long prompts make small models copy them into the transcript.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

MAX_PROMPT_CHARS = 120


def build_prompt(profile_path: Path | None) -> str:
    """Returns a simplified-Chinese prompt of hotline vocabulary."""
    lead = "以下是市民拨打12345热线的普通话来电。"
    if profile_path is None:
        return lead
    profile = yaml.safe_load(profile_path.read_text(encoding="utf-8"))
    city = profile.get("city", {}).get("name", "")
    words: list[str] = []
    for district, streets in (profile.get("districts") or {}).items():
        words.append(district)
        words.extend(streets[:1])
    for category in (profile.get("categories") or {}).values():
        words.append(category.get("name", ""))
    text = f"以下是市民拨打{city}12345热线的普通话来电，涉及" + "、".join(w for w in words if w)
    text = re.sub(r"（[^）]*）", "", text)
    if len(text) > MAX_PROMPT_CHARS:
        text = text[:MAX_PROMPT_CHARS].rsplit("、", 1)[0]
    return text + "。"
