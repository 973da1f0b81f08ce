"""Typed and spoken homophones of the knowledge base's own words, corrected by pinyin.

Citizens type with pinyin input methods and speak to a recogniser, so a question often holds
a word that sounds like the documents' one but is written differently: 社宝 for 社保, 居主证
for 居住证, 公积经 for 公积金 (a front/back nasal slip). The lexicon lists a few; this finds
the rest. A stretch of the question (two to four characters, whole words of its own
segmentation or inside a token jieba made up) that no document contains and that is not a
common word of its own, whose toneless pinyin (with the usual fuzzy pairs: z/zh, c/ch, s/sh,
n/l, in/ing, en/eng, an/ang) equals one of the documents' named words (title, keywords,
headings), a specialist word of their text (`specialist_words`) or a citizen's word of the
lexicon, is replaced by it.
Two characters must sound exactly alike (社宝 -> 社保); the fuzzy pairs need three or more.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, Mapping, Optional, Sequence, Set, Tuple

from pypinyin import Style, lazy_pinyin

from desk.kb.text import Analyzer, normalize

Key = Tuple[str, ...]
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
COMMON = 5  # a stretch jieba knows at least this well is a real word (事业 is not 失业, 白糖 not 摆摊)
# Besides the named words, a slip may stand for a specialist word of the documents' text: one
# that few documents use and, of two characters, that is rare in general use (仲才 -> 仲裁,
# 学曲房 -> 学区房; but 住要 is no slip for 主要, nor 全是 for 全市).
RARE_SHARE = 0.1  # in at most this share of the documents ...
RARE_MIN = 3  # ... or this many
SPECIALIST = 1000  # jieba's frequency of a two-character specialist word, at most
_NEGATIONS = "不没别"  # before a verb: "还不办的话", "物业费不交" are no slips of 补办, 补交
_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINALS = (("ing", "in"), ("eng", "en"), ("ang", "an"))


def exact_key(text: str, cache: Optional[Dict[str, Key]] = None) -> Key:
    """Toneless pinyin."""
    if cache is not None and text in cache:
        return cache[text]
    key = tuple(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))
    if cache is not None:
        cache[text] = key
    return key


def fuzzy_key(text: str, cache: Optional[Dict[str, Key]] = None) -> Key:
    """Toneless pinyin with the input-method and dialect pairs merged."""
    syllables = []
    for syllable in exact_key(text, cache):
        for long, short in _INITIALS:
            if syllable.startswith(long):
                syllable = short + syllable[len(long) :]
                break
        if syllable.startswith("n"):
            syllable = "l" + syllable[1:]
        for long, short in _FINALS:
            if syllable.endswith(long):
                syllable = syllable[: -len(long)] + short
                break
        syllables.append(syllable)
    return tuple(syllables)


class HomophoneIndex:
    """Pinyin (exact, and fuzzy for three characters or more) -> the documents' word, for one
    snapshot of the documents; words that share a key with another are left out (two of the
    documents' words that sound alike cannot tell which one a slip meant).

    `citizens` are the lexicon's colloquial words: they take only a key no document word has
    (居住正, a listed slip for 居住证, is no rival of 居住证), and two of them that stand for the
    same documents' words are no rivals either (公基金 and 公机金 both mean 住房公积金, so
    公鸡金 is corrected). `known(stretch)` says whether the
    documents hold a stretch (then it is no slip); `cache` keeps each word's pinyin across
    snapshots.
    """

    def __init__(
        self,
        words: Iterable[str],
        analyzer: Analyzer,
        known: Callable[[str], bool],
        cache: Dict[str, Key],
        citizens: Optional[Mapping[str, Sequence[str]]] = None,
    ) -> None:
        citizens = citizens or {}
        self._analyzer = analyzer
        self._known = known
        self._cache = cache
        exact: Dict[Key, Optional[str]] = {}
        fuzzy: Dict[Key, Optional[str]] = {}
        documents = set(words)
        # In the lexicon's order: of its slips that mean the same, the first listed stands.
        for group in (sorted(documents), [w for w in citizens if w not in documents]):
            group_exact, group_fuzzy = _keys(group, cache, lambda w: tuple(citizens.get(w, (w,))))
            for key, word in group_exact.items():
                exact.setdefault(key, word)
            for key, word in group_fuzzy.items():
                fuzzy.setdefault(key, word)
        self._exact = {k: w for k, w in exact.items() if w is not None}
        self._fuzzy = {k: w for k, w in fuzzy.items() if w is not None and len(w) > 2}

    def __len__(self) -> int:
        return len(self._exact)

    def _lookup(self, stretch: str) -> Optional[str]:
        word = self._exact.get(exact_key(stretch, self._cache))
        if word is None and len(stretch) > 2:
            word = self._fuzzy.get(fuzzy_key(stretch, self._cache))
        # A two-character slip keeps one of its characters (社宝, 户扣): 唠唠 is not 姥姥.
        if word is not None and len(stretch) == 2 and not set(word) & set(stretch):
            return None
        return word

    def correct(self, question: str) -> str:
        """`question` (normalised) with homophones of the documents' words replaced."""
        text = normalize(question)
        if not self._exact:
            return text
        boundaries, position = {0}, 0
        for token in self._analyzer.tokens(text):
            start = text.find(token, position)
            if start < 0:
                continue
            # A token jieba made up (no word of its dictionary: "彩暖费", "他户") may hide a
            # slip inside it, so its inner positions bound windows too.
            inner = range(start + 1, start + len(token)) if not self._analyzer.frequency(token) else ()
            boundaries.update((start, start + len(token), *inner))
            position = start + len(token)
        out, i = [], 0
        while i < len(text):
            for length in (4, 3, 2):
                window = text[i : i + length]
                if (
                    len(window) < length
                    or i not in boundaries
                    or i + length not in boundaries
                    or not _CJK_WORD.match(window)
                    or self._analyzer.frequency(window) >= COMMON
                    or (length == 2 and window[0] in _NEGATIONS)  # "还不办", not "还补办"
                ):
                    continue
                word = self._lookup(window)
                if word is not None and word != window and not self._known(window):
                    out.append(word)
                    i += length
                    break
            else:
                out.append(text[i])
                i += 1
        return self._suffix_slips("".join(out))

    def _suffix_slips(self, text: str) -> str:
        """A held thing's suffix typed as its homophone ("驾驶正" -> "驾驶证"), where the
        segmenter knows the thing and neither the slip nor a word the character starts
        ("正常"): the thing need not be the documents' (a question about a 驾驶证 is out of
        scope only if the scope check sees one)."""
        slips = self._analyzer.lexicon.object_words.slips
        chars = list(text)
        for i, char in enumerate(text):
            meant = slips.get(char)
            if meant is None or self._analyzer.is_word(text[i : i + 2]):
                continue
            for stem in (text[max(0, i - 3) : i], text[max(0, i - 2) : i]):
                if (
                    len(stem) >= 2
                    and _CJK_WORD.match(stem)
                    and self._analyzer.is_word(stem + meant)
                    and not self._analyzer.is_word(stem + char)
                ):
                    chars[i] = meant
                    break
        return "".join(chars)


def specialist_words(rare_words: Callable[[float], Set[str]], documents: int, analyzer: Analyzer) -> Set[str]:
    """The specialist words of the documents' text (`rare_words(limit)`: those that at most
    `limit` documents use) that a slip may stand for."""
    return {
        w
        for w in rare_words(max(RARE_MIN, RARE_SHARE * documents))
        if len(w) > 2 or analyzer.frequency(w) <= SPECIALIST
    }


def _keys(
    words: Iterable[str], cache: Dict[str, Key], meaning: Callable[[str], Tuple[str, ...]]
) -> Tuple[Dict[Key, Optional[str]], ...]:
    """Exact and fuzzy pinyin -> the word, or None where two words of different `meaning`
    share the key."""
    exact: Dict[Key, Optional[str]] = {}
    fuzzy: Dict[Key, Optional[str]] = {}
    for word in words:
        if not _CJK_WORD.match(word):
            continue
        for found, key in ((exact, exact_key(word, cache)), (fuzzy, fuzzy_key(word, cache))):
            other = found.get(key, word)
            found[key] = other if other is not None and meaning(other) == meaning(word) else None
    return exact, fuzzy
