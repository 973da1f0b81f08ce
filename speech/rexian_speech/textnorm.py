"""Normalising Whisper transcripts for the bot: simplified script, digits, punctuation."""

from __future__ import annotations

import re

import zhconv

SPOKEN_DIGITS = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "两": "2", "三": "3",
    "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
}
# A run of five or more digits, spoken or written, is a number read out digit by digit
# (phone numbers, the 12345 hotline, ID and house numbers), never a quantity.
_DIGIT_CHARS = "".join(SPOKEN_DIGITS) + "0-9"
_DIGIT_RUN = re.compile(f"[{_DIGIT_CHARS}](?:[\\s,，、-]*[{_DIGIT_CHARS}]){{4,}}")
_HALF_TO_FULL = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_CJK = "\u4e00-\u9fff"
_REPEAT = re.compile(r"(.{1,8}?)(?:\s*\1){3,}")


def to_simplified(text: str) -> str:
    """Whisper often writes traditional characters; the bot expects simplified ones."""
    return zhconv.convert(text, "zh-cn")


def spoken_digits_to_arabic(text: str) -> str:
    """``我的电话是幺三九一二三四五六七八`` -> ``我的电话是13912345678``."""

    def replace(match: re.Match[str]) -> str:
        run = re.sub(r"[\s,，、-]", "", match.group(0))
        return "".join(SPOKEN_DIGITS.get(ch, ch) for ch in run)

    return _DIGIT_RUN.sub(replace, text)


def normalise_punctuation(text: str) -> str:
    """Full-width punctuation between Chinese words, no spaces between characters."""
    text = re.sub(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])", "，", text.strip())
    text = re.sub(
        f"(?<=[{_CJK}])([,?!:;])|([,?!:;])\\s*(?=[{_CJK}])",
        lambda m: _HALF_TO_FULL[m.group(1) or m.group(2)],
        text,
    )
    text = re.sub(f"(?<=[{_CJK}])\\.(?!\\d)", "。", text)
    text = re.sub(r"([，。？！、；：])\s+", r"\1", text)
    return re.sub(r"([，。？！、])\1+", r"\1", text)


def collapse_repeats(text: str) -> str:
    """Cuts decoding loops: a unit of up to 8 characters repeated 4+ times is kept once.

    Small Whisper models fall into such loops on unclear audio (``小小小小…``); no caller
    says the same word four times in a row.
    """
    return _REPEAT.sub(r"\1", text)


def normalise(text: str) -> str:
    """The full chain applied to every transcript."""
    text = collapse_repeats(to_simplified(text))
    return normalise_punctuation(spoken_digits_to_arabic(text))


def join_segments(texts: list[str]) -> str:
    """Joins segment transcripts, separating Chinese sentences with a comma if needed."""
    parts = [t.strip() for t in texts if t.strip()]
    out = ""
    for part in parts:
        if out and out[-1] not in "，。？！、,.?!":
            out += "，"
        out += part
    return out
