"""Text normalisation before dispatch: full-width forms, typos and homophones, spoken digits."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Dict, Pattern, Tuple

import yaml

TABLE = Path(__file__).with_name("normalize.yml")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4)
def _load(path: Path = TABLE) -> Tuple[Pattern[str], Dict[str, str], Pattern[str], Dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    replacements: Dict[str, str] = data.get("replacements", {})
    digits: Dict[str, str] = {str(k): str(v) for k, v in data.get("spoken_digits", {}).items()}
    words = re.compile("|".join(re.escape(w) for w in sorted(replacements, key=len, reverse=True)))
    # Four or more spoken digits in a row are a phone or house number, not words like "一三五".
    run = re.compile(f"[{''.join(digits)}0-9]{{4,}}")
    return words, replacements, run, digits


def normalize(text: str) -> str:
    """Returns the text the dispatcher reads: NFKC, lower case, single spaces, fixed typos."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _SPACES.sub(" ", text).strip()
    words, replacements, run, digits = _load()
    if replacements:
        text = words.sub(lambda m: replacements[m.group(0)], text)
    return run.sub(lambda m: "".join(digits.get(c, c) for c in m.group(0)), text)
