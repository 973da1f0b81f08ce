"""Chinese text analysis for retrieval: normalisation, jieba words and character bigrams.

jieba learns the knowledge base's own vocabulary (titles, keywords, headings) so that
"公积金贷款" stays one word; character bigrams catch what segmentation splits differently
and most typos. Colloquial words are expanded to the documents' words from `lexicon.yml`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Pattern, Set, Tuple

import jieba
import jieba.posseg

from desk import yamlfiles
from desk.dispatch.normalize import normalize as fix_typos

jieba.setLogLevel(logging.WARNING)
LEXICON = Path(__file__).with_name("lexicon.yml")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_TOKEN = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+(?:\.[0-9]+)?")
_SPACES = re.compile(r"\s+")
# A separable verb with something between its parts ("备个案", "落得了户", "看过病").
_SPLIT_VERB = re.compile(r"(?=([\u3400-\u9fff])(?:了个|得了|不了|个|了|过)([\u3400-\u9fff]))")
_NOT_VERB_TAGS = ("r", "m", "q", "d", "p", "u", "c", "t", "f")  # 有人, 一个 ...
_CLAUSE = re.compile(r"[\s,，。!！?？;；:：、~～]+")


@dataclass(frozen=True)
class ObjectWords:
    """How to recognise a word that names a thing (see `scope.py`)."""

    suffixes: Tuple[str, ...] = ()  # "证", "卡": 结婚证, 社保卡
    held: Tuple[str, ...] = ()  # the suffixes of things a citizen holds (证, 卡), not 车 or 贷
    action_prefixes: FrozenSet[str] = frozenset()  # "补证", "辆车" are no new thing
    modal_prefixes: FrozenSet[str] = frozenset()  # nor is "能多贷"
    slips: Mapping[str, str] = field(default_factory=dict)  # a suffix typed as its homophone: 正 -> 证


@dataclass(frozen=True)
class CueGroup:
    """Words that ask for one kind of section (`section_cues` in lexicon.yml)."""

    headings: Tuple[str, ...]  # the headings of such sections ("材料")
    cues: Tuple[str, ...]  # the question's words that ask for it ("带什么")
    content: Optional[Pattern[str]] = None  # what such a section holds (a time, an amount)
    required: bool = False  # a document must name it to answer ("罚多少钱": a fine)


@dataclass(frozen=True)
class Lexicon:
    """Word lists of `lexicon.yml`: stop words, expansions, section cues and object words."""

    stopwords: FrozenSet[str]
    expansions: Dict[str, Tuple[str, ...]]  # colloquial variant -> the documents' words
    section_cues: Tuple[CueGroup, ...]
    pattern: Pattern[str]
    object_words: ObjectWords = ObjectWords()
    # Procedures a document must name to answer a question about them (销户, 挂失 ...), and
    # the generic actions on a thing that say nothing about which document is meant (补办).
    procedures: FrozenSet[str] = frozenset()
    # Of those, the ones that set the topic wherever the question names them, in its story too
    # ("居民医保 看门诊 买点药 能报多少").
    topics: FrozenSet[str] = frozenset()
    actions: FrozenSet[str] = frozenset()
    question_markers: Tuple[str, ...] = ()
    told_markers: Tuple[str, ...] = ()  # a question word in a story: "卖了几年", "没什么"
    intent_markers: Tuple[str, ...] = ()  # a clause saying what the citizen wants: "想…"
    # Words that say what kind of document it is (政策, 规定): no concept of its own.
    document_words: FrozenSet[str] = frozenset()
    # Words for who a question is about (老年人, 子女): a document's keyword among them says
    # whom it serves, not what it answers.
    people: FrozenSet[str] = frozenset()
    # Whom a citizen asks for or tells of (我姐, 员工, 婆娘): no topic of a question.
    relatives: FrozenSet[str] = frozenset()
    # Nouns that name nothing of their own (东西, 事情): a clause with only these leans on one before.
    vague: FrozenSet[str] = frozenset()
    # The documents' words for a description that names them only as a whole: each group
    # of alternatives must occur ("外地" + "娃" + "上小学" is 随迁子女).
    compounds: Tuple[Tuple[Tuple[str, ...], Tuple[Tuple[str, ...], ...]], ...] = ()
    # A title word that narrows a document to one group (新生儿) -> the words naming that group.
    audiences: Dict[str, Tuple[str, ...]] = field(default_factory=dict)


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON) -> Lexicon:
    data = yamlfiles.load(path.read_text(encoding="utf-8")) or {}
    expansions: Dict[str, Tuple[str, ...]] = {}
    for canonical, variants in (data.get("expansions") or {}).items():
        for variant in variants or []:
            words = expansions.get(str(variant), ()) + tuple(str(canonical).split())
            expansions[normalize(str(variant))] = words
    cues = tuple(
        CueGroup(
            tuple(str(h) for h in item["headings"]),
            tuple(normalize(str(c)) for c in item["cues"]),
            re.compile(str(item["content"])) if item.get("content") else None,
            bool(item.get("required")),
        )
        for item in data.get("section_cues") or []
    )
    variants = sorted(expansions, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(v) for v in variants)) if variants else re.compile(r"(?!)")
    stopwords = frozenset(normalize(str(w)) for w in data.get("stopwords") or [])
    objects = data.get("object_words") or {}
    object_words = ObjectWords(
        tuple(normalize(str(s)) for s in objects.get("suffixes") or []),
        tuple(normalize(str(s)) for s in objects.get("held") or []),
        frozenset(normalize(str(p)) for p in objects.get("action_prefixes") or []),
        frozenset(normalize(str(p)) for p in objects.get("modal_prefixes") or []),
        {normalize(str(k)): normalize(str(v)) for k, v in (objects.get("slips") or {}).items()},
    )
    return Lexicon(
        stopwords,
        expansions,
        cues,
        pattern,
        object_words,
        procedures=frozenset(normalize(str(w)) for w in data.get("procedures") or []),
        topics=frozenset(normalize(str(w)) for w in data.get("topics") or []),
        actions=frozenset(normalize(str(w)) for w in data.get("actions") or []),
        question_markers=tuple(normalize(str(w)) for w in data.get("question_markers") or []),
        told_markers=tuple(normalize(str(w)) for w in data.get("told_markers") or []),
        intent_markers=tuple(normalize(str(w)) for w in data.get("intent_markers") or []),
        document_words=frozenset(normalize(str(w)) for w in data.get("document_words") or []),
        people=frozenset(normalize(str(w)) for w in data.get("people") or []),
        relatives=frozenset(normalize(str(w)) for w in data.get("relatives") or []),
        vague=frozenset(normalize(str(w)) for w in data.get("vague") or []),
        compounds=tuple(
            (tuple(str(canonical).split()), tuple(tuple(normalize(str(w)) for w in g) for g in groups))
            for canonical, groups in (data.get("compounds") or {}).items()
        ),
        audiences={
            normalize(str(k)): tuple(normalize(str(w)) for w in words or [])
            for k, words in (data.get("audiences") or {}).items()
        },
    )


def normalize(text: str) -> str:
    """NFKC, lower case, single spaces, and the common typos and homophones that dispatch
    also corrects (desk/dispatch/normalize.yml: 暖器 -> 暖气, 低宝 -> 低保 ...)."""
    return fix_typos(text)


def char_bigrams(text: str) -> List[str]:
    grams: List[str] = []
    for run in _CJK.findall(text):
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


class Analyzer:
    """Turns text into index terms: words (with the KB's vocabulary) and `#`-marked bigrams."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or load_lexicon()
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._tagger = jieba.posseg.POSTokenizer(self._jieba)
        self._known: Set[str] = set()
        for words in self.lexicon.expansions.values():
            self.learn(words)

    def learn(self, words: Iterable[str]) -> None:
        """Adds KB vocabulary to the segmenter (words are never removed; harmless)."""
        for word in words:
            word = normalize(word)
            if len(word) >= 2 and word not in self._known and " " not in word:
                self._known.add(word)
                self._jieba.add_word(word, freq=5000)

    def expand(self, text: str) -> str:
        """Appends the documents' words for colloquial ones ("暂住证" -> "居住证") and for
        descriptions the lexicon's compounds name ("外地…娃…上小学" -> 随迁子女)."""
        text = normalize(text)
        found = {m.group(0) for m in self.lexicon.pattern.finditer(text)}
        words = {w for variant in found for w in self.lexicon.expansions[variant]}
        for canonical in self.described(text):
            words.update(canonical)
        words.update(self.joined_verbs(text))
        extra = sorted(words - found)
        return f"{text} {' '.join(extra)}" if extra else text

    def joined_verbs(self, text: str) -> List[str]:
        """Separable verbs written apart ("租的房子去备个案" -> 备案, "落得了户" -> 落户): the
        two parts are a word the segmenter knows, and not a pronoun or a number ("有个人")."""
        joined = []
        for match in _SPLIT_VERB.finditer(normalize(text)):
            word = match.group(1) + match.group(2)
            if self.is_word(word) and not self.tags(word).get(word, "x").startswith(_NOT_VERB_TAGS):
                joined.append(word)
        return list(dict.fromkeys(joined))

    def variants(self, text: str) -> List[str]:
        """The lexicon's colloquial variants that occur in `text` (normalised)."""
        return [m.group(0) for m in self.lexicon.pattern.finditer(normalize(text))]

    def clauses(self, text: str) -> List[str]:
        return [c for c in _CLAUSE.split(normalize(text)) if c]

    def asks(self, clause: str) -> bool:
        """Whether a clause of a question asks something: a question word
        (`question_markers`, not as part of a `told_markers` phrase: "攒了几万块钱" tells)
        or a final "不" ("能办不")."""
        for told in self.lexicon.told_markers:
            clause = clause.replace(told, " ")
        return clause.endswith("不") or any(m in clause for m in self.lexicon.question_markers)

    def described(self, text: str, parts: int = 1) -> List[Tuple[str, ...]]:
        """The documents' words for each description of at least `parts` parts that the
        normalised `text` holds (lexicon `compounds`: 外地 + 娃 + 上小学 is 随迁子女)."""
        return [
            canonical
            for canonical, groups in self.lexicon.compounds
            if len(groups) >= parts and all(any(w in text for w in group) for group in groups)
        ]

    def is_cue(self, word: str) -> bool:
        """Whether `word` is part of a section cue ("电话", "多少钱"): how, not what, is asked."""
        return any(word in cue for group in self.lexicon.section_cues for cue in group.cues)

    def frequency(self, word: str) -> int:
        """How common jieba's dictionary says a word is (0 for unknown stretches)."""
        return int(self._jieba.FREQ.get(word, 0) or 0)

    def is_word(self, word: str) -> bool:
        """Whether the segmenter knows `word` (its dictionary or the knowledge base's)."""
        return self.frequency(normalize(word)) > 0

    def tags(self, text: str) -> Dict[str, str]:
        """Part of speech of the words of `text` (precise mode): "n…" nouns, "v" verbs, "x"
        for words the knowledge base taught the segmenter."""
        return dict(self.tagged(text))

    def tagged(self, text: str) -> List[Tuple[str, str]]:
        """The words of `text` in order, each with its part of speech (see `tags`)."""
        return [(pair.word, pair.flag) for pair in self._tagger.lcut(normalize(text)) if pair.word.strip()]

    def tokens(self, text: str) -> List[str]:
        """Words in precise mode, single characters included ("驾驶员", "证")."""
        return [t for t in self._jieba.lcut(normalize(text)) if t.strip()]

    def words(self, text: str) -> List[str]:
        """Content words in search mode (long words and their parts), without stop words."""
        found: List[str] = []
        for token in _TOKEN.findall(normalize(text)):
            if not _CJK.fullmatch(token):
                found.append(token)
                continue
            for word in self._jieba.lcut_for_search(token):
                if word not in self.lexicon.stopwords and (len(word) > 1 or word in self._known):
                    found.append(word)
        return found

    def segments(self, word: str) -> List[str]:
        """The words a compound is made of ("公积金贷款" -> 公积金, 贷款), or none when its
        parts do not spell it out ("居住证" has only "居住")."""
        word = normalize(word)
        parts = [p for p in dict.fromkeys(self._jieba.lcut_for_search(word)) if p != word and len(p) > 1]
        parts = [p for p in parts if not any(p != o and p in o for o in parts)]
        return parts if sum(map(len, parts)) == len(word) and len(parts) > 1 else []

    def terms(self, text: str) -> List[str]:
        """Index terms: content words plus character bigrams (marked with '#')."""
        normalized = normalize(text)
        bigrams = [g for g in char_bigrams(normalized) if g not in self.lexicon.stopwords]
        return self.words(normalized) + ["#" + g for g in bigrams]

    def section_cues(self, text: str) -> List[Tuple[str, ...]]:
        """Headings a question asks about, from cue words ("带什么" -> 材料)."""
        return [g.headings for g in self._cue_groups(text)]

    def required_cues(self, text: str) -> List[Tuple[str, ...]]:
        """The headings and cues of the groups a question asks for that a document must name
        to answer it (a fine: 罚)."""
        return [(*g.headings, *g.cues) for g in self._cue_groups(text) if g.required]

    def cue_contents(self, text: str) -> List[Pattern[str]]:
        """What a section that answers the question holds, from the same cue words:
        "多少天之内得去申请" asks for a time, wherever the document says it."""
        return [g.content for g in self._cue_groups(text) if g.content is not None]

    def _cue_groups(self, text: str) -> List[CueGroup]:
        """The section cue groups a question's words point at. A cue inside a longer cue of
        another kind does not count: "多少天" asks for a time, not an amount ("多少")."""
        text = normalize(text)
        found: List[Tuple[int, int, int]] = []  # start, end, cue group
        for group, cue_group in enumerate(self.lexicon.section_cues):
            for cue in cue_group.cues:
                start = text.find(cue)
                while cue and start >= 0:
                    found.append((start, start + len(cue), group))
                    start = text.find(cue, start + 1)
        groups = {
            g
            for s, e, g in found
            if not any(g2 != g and s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2, g2 in found)
        }
        return [self.lexicon.section_cues[g] for g in sorted(groups)]
