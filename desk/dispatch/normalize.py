"""Text normalisation before dispatch: full-width forms, traditional characters, typos and
homophones, spoken digits."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Pattern, Tuple

import opencc

from desk import yamlfiles

TABLE = Path(__file__).with_name("normalize.yml")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4)
def _load(path: Path = TABLE) -> Tuple[Pattern[str], Dict[str, str], Pattern[str], Dict[str, str]]:
    data = yamlfiles.load(path.read_text(encoding="utf-8"))
    replacements: Dict[str, str] = data.get("replacements", {})
    digits: Dict[str, str] = {str(k): str(v) for k, v in data.get("spoken_digits", {}).items()}
    words = re.compile("|".join(re.escape(w) for w in sorted(replacements, key=len, reverse=True)))
    # Four or more spoken digits in a row are a phone or house number, not words like "一三五".
    run = re.compile(f"[{''.join(digits)}0-9]{{4,}}")
    return words, replacements, run, digits


@lru_cache(maxsize=1)
def _traditional() -> Tuple[Pattern[str], opencc.OpenCC]:
    """Characters only traditional script uses (not 乾 or 著, which simplified text keeps in
    乾隆, 著名), and OpenCC's Taiwan-to-mainland converter (計程車 -> 出租车)."""
    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    only = []
    for line in table.read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if len(key) == 1 and key not in values.split():
            only.append(key)
    return re.compile(f"[{re.escape(''.join(only))}]"), opencc.OpenCC("tw2sp")


def simplified(text: str) -> str:
    """Text typed in traditional characters, as simplified Chinese with mainland words:
    "公積金怎麼提取" -> "公积金怎么提取". Simplified text is returned as it is (the check is
    one regular expression; the conversion runs only where a traditional character occurs)."""
    only, converter = _traditional()
    return converter.convert(text) if only.search(text) else text


def normalize(text: str) -> str:
    """Returns the text the dispatcher reads: NFKC, lower case, single spaces, fixed typos,
    simplified characters. The table applies before the conversion too: OpenCC reads the
    Cantonese 嗰 as a traditional form (of 𠮶), so "嗰啲" must become 那些 first."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()
    words, replacements, run, digits = _load()

    def fix(text: str) -> str:
        return words.sub(lambda m: replacements[m.group(0)], text) if replacements else text

    text = fix(text)
    converted = simplified(text)
    if converted != text:
        text = fix(converted)
    return run.sub(lambda m: "".join(digits.get(c, c) for c in m.group(0)), text)


def spans(original: str, normal: str) -> List[Tuple[int, int]]:
    """For each character of ``normal`` (``normalize(original)``), the span of ``original`` it
    came from. Equal stretches map one to one; a rewritten stretch (公積金 -> 公积金, 囝仔 -> 孩子,
    点算 -> 怎么办) spreads evenly over the characters it replaced; a character with nothing
    typed behind it gets the empty span where it was inserted."""
    result: List[Tuple[int, int]] = []
    matcher = SequenceMatcher(None, original, normal, autojunk=False)
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        width = j2 - j1
        for k in range(width):
            start = i1 + k * (i2 - i1) // width
            end = i1 - (-(k + 1) * (i2 - i1) // width)
            result.append((start, end))
    return result


Tokenize = Callable[[str], Iterable[Tuple[str, int, int]]]


def normalized_tokens(text: str, tokenize: Tokenize) -> List[Tuple[str, str, int, int]]:
    """Tokens of the normalised text, each as (normalised word, what was typed, start, end)
    with the span in ``text``: "樓上噪因" -> [("楼上", "樓上", 0, 2), ("噪音", "噪因", 2, 4)].
    ``tokenize`` is jieba's (word, start, end) tokenizer; spaces are not tokens."""
    normal = normalize(text)
    where = spans(text, normal)
    tokens = []
    for word, start, end in tokenize(normal):
        if word.strip():
            begin, finish = where[start][0], where[end - 1][1]
            tokens.append((word, text[begin:finish] or word, begin, finish))
    return tokens
