"""Domain hot-word correction: homophone slips of a small Whisper model, fixed by the city's words.

Whisper-base often writes a word that sounds exactly like the one said (造音 for 噪音, 攻击金
for 公积金, 然其 for 燃气). The city's own texts — the dispatcher's labelled messages, the
profile's places, departments and keywords — say which words a hotline caller uses. A
stretch of the transcript whose toneless pinyin equals such a word, but which is itself
rare in those texts, is replaced by the word.

Sources are configurable (``SPEECH_HOTWORD_SOURCES``): YAML or text files, read once at
start-up; every text is segmented with jieba and its words counted, and short entries
(keywords, places) count as words as a whole.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

import jieba
import yaml
from pypinyin import Style, lazy_pinyin

log = logging.getLogger(__name__)
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_CJK_TERM = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
MIN_COUNT = {2: 3, 3: 2, 4: 2}  # how often a word must occur in the city's texts to be trusted
DOMINANCE = 3.0  # the word must be this much more frequent there than what Whisper wrote


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _texts(path: Path) -> Iterator[str]:
    raw = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml"):
        try:
            yield from _strings(yaml.safe_load(raw))
            return
        except yaml.YAMLError:
            pass
    yield raw


def _key(text: str) -> tuple:
    return tuple(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))


class HotwordCorrector:
    """Replaces homophones of frequent domain words in a transcript."""

    def __init__(self, counts: Counter, tokenizer: "jieba.Tokenizer | None" = None) -> None:
        self.counts = counts
        self.tokenizer = tokenizer or jieba.Tokenizer()
        self.index: dict = {}
        for word, count in counts.items():
            if _CJK_WORD.match(word) and count >= MIN_COUNT[len(word)]:
                key = _key(word)
                best = self.index.get(key)
                if best is None or counts[best] < count:
                    self.index[key] = word

    @classmethod
    def from_sources(cls, paths: Iterable[Path]) -> "HotwordCorrector":
        tokenizer = jieba.Tokenizer()
        paths = list(paths)
        texts = [text for path in paths for text in _texts(path)]
        counts: Counter = Counter()
        for text in texts:
            if _CJK_TERM.match(text.strip()):  # a short entry (keyword, place) is a word as a whole
                counts[text.strip()] += max(MIN_COUNT.values())
            for run in _CJK_RUN.findall(text):
                counts.update(w for w in tokenizer.lcut(run) if len(w) >= 2)
        files = len(paths)
        corrector = cls(counts, tokenizer)
        log.info("speech.hotwords.loaded files=%d words=%d", files, len(corrector.index))
        return corrector

    def correct(self, text: str) -> str:
        """The transcript with homophones of domain words replaced.

        Only whole words of the transcript's own segmentation are candidates (a stretch that
        starts or ends inside a word is left alone: 街道有人 must not become 街导游人).
        """
        boundaries, position = {0}, 0
        for token in self.tokenizer.lcut(text):
            position += len(token)
            boundaries.add(position)
        out, i = [], 0
        while i < len(text):
            replaced = False
            for length in (4, 3, 2):
                window = text[i : i + length]
                if len(window) < length or i not in boundaries or i + length not in boundaries:
                    continue
                if not _CJK_WORD.match(window):
                    continue
                word = self.index.get(_key(window))
                if word and word != window and self.counts[word] >= DOMINANCE * max(1, self.counts[window]):
                    out.append(word)
                    i += length
                    replaced = True
                    break
            if not replaced:
                out.append(text[i])
                i += 1
        return "".join(out)


