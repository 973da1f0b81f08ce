"""The knowledge base: a directory of documents, kept live, answering citizens' questions.

Edits to the directory are picked up by `refresh()` (at most one scan per interval; the
app also runs it in the background), re-reading only changed files. A broken file is
skipped and reported in `errors`, never taking the rest down. Uploads are validated
before they are written, and written atomically.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union
from zoneinfo import ZoneInfo

import numpy as np

from desk.errors import NotFound
from desk.kb.answering import NOT_FOUND, compose, pick_sections
from desk.kb.documents import (
    Document,
    DocumentError,
    check_filename,
    find_duplicates,
    markdown_entries,
    parse_document,
)
from desk.kb.embedding import CachedPassages, Embedder
from desk.kb.homophones import HomophoneIndex, specialist_words
from desk.kb.index import Indexer, QueryFeatures, SearchIndex
from desk.kb.ranking import (
    NOW_WORDS,
    RELATIVE_YEARS,
    THEN_WORDS,
    asked_year,
    eligible,
    evidence,
    general_first,
    load_confidence_model,
    rank_scores,
    rerank,
    ruled_out,
)
from desk.kb.scope import ScopeCheck
from desk.kb.text import Analyzer, normalize

log = logging.getLogger(__name__)
Signature = Tuple[int, int, int]  # inode, mtime_ns, size
MAX_DOCUMENT_BYTES = 200_000
THRESHOLD = 0.5
LARGE_CORPUS = 1000  # documents from which start-up ends with a warm rebuild and a garbage collection
FOLLOW_UP_OVERRIDE = 0.9  # a follow-up leaves its context only for a clearly better match
# A question that alone matches no document at all ("房子交了一直空着没住 也得全交吗") is about
# the conversation's topic if it names only things of that topic (`_names_context`).
UNRELATED = 0.05
# Part-of-speech tags of the things a question names (`_things`): nouns, verbal nouns, times.
_THING_TAGS = ("n", "vn", "eng", "t")
# When, counted from today ("那我后天急着坐飞机"): no thing a follow-up asks about.
_RELATIVE_DAYS = frozenset(
    "今天 明天 后天 大后天 昨天 前天 今晚 明晚 昨晚 明早 今早 下周 上周 这周 本周 下礼拜 上礼拜 这礼拜 "
    "下星期 上星期 下个月 上个月 这个月 月底 月初 年底 年初 前几天 这几天 过几天".split()
)
_MONTH = re.compile(r"[一二三四五六七八九十正腊冬\d]+月(?:份|底|初|中)?")
_DIRECTIONS = "上下来去进出回过起"  # "下来", "上去": directions jieba tags as time words
# Words that point back to the previous topic.
_ANAPHORA = tuple("那 这 它 他们 她们 对方 还有 还要 还需 另外 然后 如果 要是 那么".split())
# A later clause that starts with 那 points back ("户口弄好了，那孩子的医保呢"), unless 那 is part
# of a place, a time or a filler ("…那个医保").
_NOT_POINTING = tuple("那个 那边 那里 那儿 那天 那时 那会 那年 那次 那种 那些 那位".split())


@dataclass(frozen=True)
class Answer:
    answer: str
    sources: List[Dict[str, str]]
    confidence: float
    extra: Dict[str, Any] = field(default_factory=dict)
    # For evaluation, not the API: candidate ids best first, and the confidence's inputs.
    ranked: List[str] = field(default_factory=list, repr=False)
    evidence: Dict[str, float] = field(default_factory=dict, repr=False)

    def as_dict(self) -> Dict[str, Any]:
        return {"answer": self.answer, "sources": self.sources, "confidence": self.confidence, **self.extra}


@dataclass(frozen=True)
class _Snapshot:
    documents: List[Document]
    errors: List[DocumentError]
    index: SearchIndex
    signatures: Dict[str, Signature]
    vocabulary: str  # all document text and section cues
    homophones: HomophoneIndex  # slips that sound like the documents' words
    masks: Dict[Tuple[dt.date, Optional[int]], np.ndarray] = field(default_factory=dict, repr=False)

    def eligible(self, today: dt.date, year: Optional[int]) -> np.ndarray:
        """`ranking.eligible`, remembered per day and asked year (a snapshot never changes)."""
        key = (today, year)
        if key not in self.masks:
            if len(self.masks) > 64:
                self.masks.clear()
            mask = eligible(self.documents, today, year)
            mask.flags.writeable = False  # shared by every question of the day
            self.masks[key] = mask
        return self.masks[key]

    def position(self, doc_id: str) -> Optional[int]:
        return next((i for i, d in enumerate(self.documents) if d.id == doc_id), None)


@dataclass(frozen=True)
class _Hit:
    position: int
    confidence: float
    features: QueryFeatures
    evidence: Dict[str, float]
    ranked: List[int]
    query: str


class KnowledgeBase:
    """Answers questions from a directory of Markdown documents (see `documents.py`)."""

    def __init__(
        self,
        directory: Path,
        embedder: Optional[Embedder] = None,
        cache_dir: Optional[Path] = None,
        timezone: str = "Asia/Shanghai",
        threshold: float = THRESHOLD,
        refresh_interval_s: float = 1.0,
    ) -> None:
        self.directory = Path(directory)
        self.threshold = threshold
        self.refresh_interval_s = refresh_interval_s
        # Requests check for edits themselves unless a background watcher does (see routes).
        self.refresh_on_request = True
        self._zone = ZoneInfo(timezone)
        self._confidence = load_confidence_model()
        passages = CachedPassages(embedder, cache_dir) if embedder is not None else None
        self._embedder = embedder
        self._indexer = Indexer(Analyzer(), passages)
        self._scope = ScopeCheck(self._indexer.analyzer)
        lexicon = self._indexer.analyzer.lexicon
        # The lexicon's words and section cues: what follow-ups may name besides the documents.
        self._lexicon_words = " ".join(
            [
                *(w for key, words in lexicon.expansions.items() for w in (key, *words)),
                *(c for g in lexicon.section_cues for c in g.cues),
            ]
        )
        self._parsed: Dict[str, Tuple[Signature, Union[Document, DocumentError]]] = {}
        self._pinyin: Dict[str, Tuple[str, ...]] = {}  # word -> fuzzy pinyin, kept across reloads
        self._lock = threading.RLock()
        self._checked = time.monotonic()
        self._snapshot = self._build(self._scan())
        if len(self._snapshot.documents) >= LARGE_CORPUS:
            # The first copy of a snapshot's large arrays into fresh memory takes a second
            # longer than later ones (at 10,000 documents); one unchanged rebuild here keeps
            # an admin's first edit as quick to show as the rest.
            self._snapshot = self._build(self._snapshot.signatures)
            # Counted as new, the start-up objects would make the first reload's allocations
            # trigger a full collection of all of them (seconds at 10,000 documents); once
            # collected they are old, and a reload's few new objects stay below the trigger.
            gc.collect()

    @property
    def uses_embeddings(self) -> bool:
        return self._embedder is not None

    def today(self) -> dt.date:
        return dt.datetime.now(self._zone).date()

    # -- live reload -------------------------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Re-reads changed files; returns whether anything changed. Cheap when nothing did."""
        if not force and time.monotonic() - self._checked < self.refresh_interval_s:
            return False
        if not self._lock.acquire(blocking=force):
            return False  # another thread is reloading; keep serving the current snapshot
        try:
            self._checked = time.monotonic()
            signatures = self._scan()
            if signatures == self._snapshot.signatures:
                return False
            self._snapshot = self._build(signatures)
            return True
        finally:
            self._lock.release()

    def _scan(self) -> Dict[str, Signature]:
        return {
            name: (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            for name, stat in markdown_entries(self.directory)
        }

    def _build(self, signatures: Dict[str, Signature]) -> _Snapshot:
        started = time.perf_counter()
        parsed = {name: self._parse(name, signature) for name, signature in signatures.items()}
        self._parsed = {name: (signatures[name], item) for name, item in parsed.items()}
        documents, duplicates = find_duplicates([p for p in parsed.values() if isinstance(p, Document)])
        errors = sorted(
            [p for p in parsed.values() if isinstance(p, DocumentError)] + duplicates, key=lambda e: e.file
        )
        for error in errors:
            log.warning("kb.document.skipped file=%s reason=%s", error.file, error.reason)
        index = self._indexer.build(documents)
        log.info(
            "kb.loaded documents=%d errors=%d elapsed_ms=%.0f",
            len(documents),
            len(errors),
            (time.perf_counter() - started) * 1000,
        )
        lexicon = self._indexer.analyzer.lexicon
        cues = "".join("".join(g.cues) for g in lexicon.section_cues)
        vocabulary = "".join(index.text(i) for i in range(len(documents))) + cues
        # A slip may stand for a document's word or for a citizen's word the lexicon knows
        # (彩暖 -> 采暖, which the lexicon maps to 供暖).
        named = index.named_words() | {w for words in lexicon.expansions.values() for w in words}
        named |= specialist_words(index.rare_words, len(documents), self._indexer.analyzer)
        # A citizen says part of a long named word: 自行车 of 公共自行车 ("公共自形车").
        analyzer = self._indexer.analyzer
        named |= {p for w in named if len(w) > 4 for p in analyzer.words(w) if 3 <= len(p) <= 4}

        def known(stretch: str) -> bool:
            """Held by the documents: a two-character stretch whose pair occurs, a longer one
            only as written (失业经 is no word of theirs, though 失业 and 业经 both occur)."""
            return index.has_text(stretch) and (len(stretch) < 3 or stretch in vocabulary)

        homophones = HomophoneIndex(named, self._indexer.analyzer, known, self._pinyin, lexicon.expansions)
        return _Snapshot(documents, errors, index, dict(signatures), vocabulary, homophones)

    def _parse(self, name: str, signature: Signature) -> Union[Document, DocumentError]:
        cached = self._parsed.get(name)
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            return parse_document(_read(self.directory / name), name)
        except DocumentError as exc:
            return exc

    # -- questions ---------------------------------------------------------------------

    def answer(self, question: str, context: Optional[str] = None, today: Optional[dt.date] = None) -> Answer:
        """Answers from the documents in force on `today` (default: the city's today).

        `context` is the previous turn's document id (or the previous question): a short,
        elliptical follow-up ("那要带什么材料？") stays on that document.
        """
        if self.refresh_on_request:
            self.refresh()
        snapshot, today = self._snapshot, today or self.today()
        question = snapshot.homophones.correct((question or "").strip())
        mask = snapshot.eligible(today, self._asked_year(question, today))
        follow = self._context_family(snapshot, context, today)
        # Whom the conversation is about: "他的医保几时能用" after 新生儿落户 asks of the newborn.
        told = self._family_title(snapshot, follow) if follow is not None else ""
        hit = self._search(snapshot, question, mask, told=told)
        things = self._things(question) if follow is not None else []
        if (
            follow is not None
            and self._follows_up(question, things, hit, follow, snapshot)
            and (not _clearly_elsewhere(hit, follow, snapshot) or self._within(question, follow, snapshot))
            and self._on_topic(things, snapshot)
        ):
            family_mask = mask & np.array([d.family == follow for d in snapshot.documents])
            if family_mask.any():
                title = snapshot.documents[int(np.argmax(family_mask))].title
                elsewhere = self._subject_elsewhere(question, title, hit, follow, snapshot, mask)
                hit = elsewhere or self._search(snapshot, f"{title} {question}", mask, within=family_mask)
        if hit is None or hit.confidence < self.threshold:
            return self._not_found(snapshot, hit)
        return self._extract(snapshot, hit, question, today)

    def _follows_up(
        self, question: str, things: List[str], hit: Optional[_Hit], family: str, snapshot: _Snapshot
    ) -> bool:
        """Short or pointing back, at its start or after what the citizen has done ("户口弄好了，
        那孩子的医保一年交多少"); or with at least two words, all of them words of the
        context's documents ("在北山县 抢修的多久能到" after 燃气 asks the gas company, not the
        water works); or, on its own, finding no document at all and naming only things of the
        context's documents; or finding the context's document first but not surely enough
        ("网上能办不 办下来要几天" after 租赁备案)."""
        if _elliptical(question) or self._within(question, family, snapshot, least=2):
            return True
        clauses = self._indexer.analyzer.clauses(question)[1:]
        if any(c.startswith("那") and not c.startswith(_NOT_POINTING) for c in clauses):
            return True
        if hit is None or hit.confidence < UNRELATED:
            return self._names_context(things, family, snapshot)
        return hit.confidence < self.threshold and snapshot.documents[hit.position].family == family

    def _subject_elsewhere(
        self,
        question: str,
        title: str,
        hit: Optional[_Hit],
        family: str,
        snapshot: _Snapshot,
        mask: np.ndarray,
    ) -> Optional[_Hit]:
        """A follow-up that names the subject of another policy asks about that policy: "那孩子的
        医保呢" after 新生儿落户 asks 新生儿医保, whose title says 医保 and the context's titles
        do not. It moves when the question alone finds that document first, not every word of
        the question is the context's (`_within`: "在北山县 抢修的多久能到" after 燃气 stays,
        though 抢修 is in 停水停电's title), and the context's title with the question finds it
        surely; "医保谁交" while drawing 失业保险金 finds nothing sure there and stays."""
        if hit is None or snapshot.documents[hit.position].family == family:
            return None
        other = snapshot.documents[hit.position].family
        analyzer = self._indexer.analyzer
        titles = [d.title for d in snapshot.documents if d.family == family]
        own = {w for t in titles for w in analyzer.words(t)}
        subjects = set(analyzer.words(snapshot.documents[hit.position].title)) - own
        named = [
            w
            for w, tag in analyzer.tagged(question)
            if len(w) > 1 and tag[0] in "nvj" and w in subjects
            if w not in NOW_WORDS and not analyzer.is_cue(w)
        ]
        if not named or self._within(question, family, snapshot):
            return None
        within = mask & np.array([d.family == other for d in snapshot.documents])
        moved = self._search(snapshot, f"{title} {question}", mask, within=within)
        return moved if moved is not None and moved.confidence >= self.threshold else None

    def _asked_year(self, question: str, today: dt.date) -> Optional[int]:
        """The year the asking clauses name, unless they say "now" and not "then": a past
        year only in the citizen's story ("去年年底忘了交，现在补交的话能用吗"), or one whose
        rules are asked about today ("2025年版的标准现在还管用不": the version in force says
        whether it still applies), asks about today's rules; "去年贷的款，当时利率多少，想跟
        现在比比" asks about last year's. Years told only in the story count by the latest:
        a story that goes on into this year ("今年二月才回来…去年年底交医保时人不在…要等多久")
        asks about this year's rules."""
        asked = self._scope.asked(question)
        now = any(w in asked for w in NOW_WORDS) and not any(w in asked for w in THEN_WORDS)
        year = asked_year(asked, today)
        if year is not None and not (now and year < today.year):
            return year
        return None if now else asked_year(question, today, latest=True)

    def _within(self, question: str, family: str, snapshot: _Snapshot, least: int = 0) -> bool:
        """Every word of the question, and at least `least` of them, occurs in a document of the
        context's family: "报修电话呢" after 供暖 asks the 供暖 document, even if another one
        has a heading "报修电话"."""
        analyzer = self._indexer.analyzer
        found = analyzer.words(question)
        # Search mode lists "报修电话" with its parts; asking words ("电话") fit any document.
        words = [w for w in found if not any(o != w and o in w for o in found) and not analyzer.is_cue(w)]
        if len(words) < least:
            return False
        return any(all(w in text for w in words) for text in _family_texts(snapshot, family))

    def _names_context(self, things: List[str], family: str, snapshot: _Snapshot) -> bool:
        """Every thing the question names (`_things`) is in the context's documents (or the
        lexicon): "房子交了一直空着没住 也得全交吗" after 物业费, but not "领结婚证要带啥"
        after 新生儿落户, however little either matches on its own."""
        return self._all_named(things, " ".join(_family_texts(snapshot, family)))

    def _on_topic(self, things: List[str], snapshot: _Snapshot) -> bool:
        """A follow-up speaks the knowledge base's language: a thing (`_things`) that no
        document or lexicon word names ("手机内存咋清理", "你是机器人吗", "俺家猫老吐") makes it
        a new question, not a follow-up."""
        return self._all_named(things, snapshot.vocabulary)

    def _all_named(self, things: List[str], text: str) -> bool:
        """Every thing is in `text` or among the lexicon's words, or is a verb and such a
        thing that the segmenter joined ("签合同", "交学费")."""
        tags = self._indexer.analyzer.tags

        def named(word: str) -> bool:
            if word in text or word in self._lexicon_words:
                return True
            rest = word[1:]
            return len(rest) >= 2 and tags(word[0]).get(word[0], "").startswith("v") and named(rest)

        return all(named(w) for w in things)

    def _things(self, question: str) -> List[str]:
        """The nouns of a question. Not its verbs and particles: a follow-up's "批下来", "拿到",
        "退回来" are everyday speech. Nor asking words ("多长时间", "电话"), "现在" or stop
        words ("大家", "情况"), which fit any topic. Nor what jieba tags as a name ("家里人"),
        nor a word with a repeated character (a doubled verb: jieba tags "问问" a noun), nor a
        stretch its dictionary lacks: a slip or a mis-cut ("多贷点不" as 多 + 贷点 + 不). A day
        counted from today, or a month, is a thing only alone: "那我后天急着坐飞机" names
        坐飞机, but "明天下雨不" names the day (and no document does); "听说要到七月底" names
        no thing. Nor whom the citizen asks for (lexicon `relatives`: "我好跟我姐说一声"), nor a
        word cut across a date ("5月20日报的名": 日报)."""
        analyzer = self._indexer.analyzer
        said = normalize(question)
        things = [
            word
            for word, tag in analyzer.tags(question).items()
            if tag.startswith(_THING_TAGS)
            and not analyzer.is_cue(word)
            and word not in NOW_WORDS
            and word not in analyzer.lexicon.stopwords
            and (len(word) == 1 or analyzer.is_word(word))
            and not tag.startswith("nr")
            and len(set(word)) == len(word)
            and word not in RELATIVE_YEARS
            and not set(word) <= set(_DIRECTIONS)
            and word not in analyzer.lexicon.relatives
            and not re.search(r"\d" + re.escape(word[0]), said)
        ]
        return [w for w in things if w not in _RELATIVE_DAYS and not _MONTH.fullmatch(w)] or things

    def _not_found(self, snapshot: _Snapshot, hit: Optional[_Hit]) -> Answer:
        if hit is None:
            return Answer(NOT_FOUND, [], 0.0)
        ranked = [snapshot.documents[p].id for p in hit.ranked]
        return Answer(NOT_FOUND, [], round(hit.confidence, 3), ranked=ranked, evidence=hit.evidence)

    def _search(
        self,
        snapshot: _Snapshot,
        query: str,
        mask: np.ndarray,
        within: Optional[np.ndarray] = None,
        told: str = "",
    ) -> Optional[_Hit]:
        """The best document among `within` (default: all of `mask`), judged against `mask`;
        `told` is what the conversation said before (whom it is about, `general_first`)."""
        within = mask if within is None else within
        if not query or not within.any():
            return None
        features = self._features(snapshot, query)
        asked, said = self._scope.asked(query), normalize(query)
        # The asking clauses on their own, where the question says more than they do.
        alone = self._features(snapshot, asked) if asked != said else None
        # For ranking, a keyword counts where the question asks about it: 景区 in
        # "在景区商店买了盒鲜花饼…能无理由退不" is where the citizen was, not what is asked
        # (the confidence still weighs every keyword the question names).
        ranking = features if alone is None else replace(features, keyword=alone.keyword)
        analyzer = self._indexer.analyzer
        scores = rerank(rank_scores(ranking, within), snapshot.documents, analyzer.section_cues(query))
        audiences = analyzer.lexicon.audiences
        scores = general_first(scores, snapshot.documents, f"{normalize(told)} {said}", audiences)
        ranked = [int(p) for p in np.argsort(-scores)[: min(3, int(within.sum()))]]
        # A candidate that a scope rule rules out ("落户…交够几年社保": 灵活就业社保 never
        # mentions 落户) gives way to the next one of the best few that none does.
        judged = []
        for position in ranked:
            found = evidence(features, position, mask)
            found.update(self._scope.evidence(query, snapshot.index, position, asked))
            judged.append((position, found))
            if not ruled_out(found):
                break
        position, found = judged[-1] if not ruled_out(judged[-1][1]) else judged[0]
        ranked = [position] + [p for p in ranked if p != position]
        confidence = self._confidence.confidence(found, bool(features.similarity.any()))
        if alone is not None and not ruled_out(found):
            confidence = max(confidence, self._asked_confidence(alone, position, mask, within))
        return _Hit(position, confidence, features, found, ranked, query)

    def _asked_confidence(
        self, features: QueryFeatures, position: int, mask: np.ndarray, within: np.ndarray
    ) -> float:
        """How surely the asking clauses alone (their `features`) are answered by the document,
        if it is also their best one: a story before the question ("房子空着没人住，想停暖，最晚
        啥时候申请") dilutes the evidence of the whole question, not what is asked."""
        if int(np.argmax(rank_scores(features, within))) != position:
            return 0.0
        found = evidence(features, position, mask)
        return self._confidence.confidence(found, bool(features.similarity.any()))

    def _features(self, snapshot: _Snapshot, query: str) -> QueryFeatures:
        """The query's match with every document. The embedding also reads the documents' word
        for a description of three or more parts (lexicon `compounds`: 外地 + 娃 + 上小学 is
        随迁子女): "外地户口 孩子上小学 社保得交满多久" is otherwise nearer the 社保 guides than
        the school admission one. Two-part descriptions (娃 + 出生) are too common in stories
        ("娃2020年9月出生的 今年能上一年级不") to steer it."""
        analyzer = self._indexer.analyzer
        if self._embedder is None:
            return snapshot.index.features(analyzer.expand(query), None, query)
        described = [" ".join(words) for words in analyzer.described(normalize(query), parts=3)]
        vector = self._embedder.queries([" ".join([query, *described])])[0]
        return snapshot.index.features(analyzer.expand(query), vector, query)

    @staticmethod
    def _family_title(snapshot: _Snapshot, family: str) -> str:
        return next((d.title for d in snapshot.documents if d.family == family), "")

    def _context_family(self, snapshot: _Snapshot, context: Optional[str], today: dt.date) -> Optional[str]:
        context = (context or "").strip()
        if not context:
            return None
        position = snapshot.position(context)
        if position is None:  # the previous question rather than a document id
            hit = self._search(snapshot, context, snapshot.eligible(today, None))
            position = hit.position if hit is not None and hit.confidence >= self.threshold else None
        return snapshot.documents[position].family if position is not None else None

    def _extract(self, snapshot: _Snapshot, hit: _Hit, question: str, today: dt.date) -> Answer:
        document = snapshot.documents[hit.position]
        analyzer = self._indexer.analyzer
        cues, contents = analyzer.section_cues(question), analyzer.cue_contents(question)
        # A follow-up was searched together with its context; its sections answer the question.
        features = hit.features if hit.query == question else self._features(snapshot, question)
        sections = pick_sections(snapshot.index, hit.position, features, question, cues, contents)
        return Answer(
            compose(document, sections, today),
            [{"id": document.id, "title": document.title}],
            round(hit.confidence, 3),
            {"sections": [document.sections[i].heading for i in sections]},
            ranked=[snapshot.documents[p].id for p in hit.ranked],
            evidence=hit.evidence,
        )

    # -- administration ----------------------------------------------------------------

    def document(self, doc_id: str) -> Optional[Document]:
        position = self._snapshot.position(doc_id)
        return self._snapshot.documents[position] if position is not None else None

    def documents(self, today: Optional[dt.date] = None) -> Dict[str, Any]:
        if self.refresh_on_request:
            self.refresh()
        snapshot, today = self._snapshot, today or self.today()
        return {
            "documents": [d.summary(today) for d in sorted(snapshot.documents, key=lambda d: d.id)],
            "errors": [e.as_dict() for e in snapshot.errors],
        }

    def add(self, content: str, filename: Optional[str] = None) -> Tuple[Document, bool]:
        """Validates and writes a document; returns it and whether it is new.

        Raises `DocumentError` (file + reason) when it is invalid or its id belongs to
        another file. Without a file name, a known id replaces its own file.
        """
        label = filename or "upload"
        if len(content.encode("utf-8")) > MAX_DOCUMENT_BYTES:
            raise DocumentError(label, f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
        if filename is not None:
            check_filename(filename)
        document = parse_document(content, label)
        with self._lock:
            self.refresh(force=True)
            owner = self._owner(document.id)
            target = filename or owner or f"{document.id}.md"
            if owner is not None and owner != target:
                raise DocumentError(target, f"duplicate id '{document.id}' (already used by {owner})")
            created = not (self.directory / target).exists()
            _write_atomically(self.directory / target, content)
            self.refresh(force=True)
        log.info("kb.document.saved id=%s file=%s created=%s", document.id, target, created)
        return parse_document(content, target), created

    def delete(self, doc_id: str) -> None:
        with self._lock:
            self.refresh(force=True)
            owner = self._owner(doc_id)
            if owner is None:
                raise NotFound(f"知识库中没有文档 {doc_id}", {"id": doc_id})
            (self.directory / owner).unlink(missing_ok=True)
            self.refresh(force=True)
        log.info("kb.document.deleted id=%s file=%s", doc_id, owner)

    def _owner(self, doc_id: str) -> Optional[str]:
        """The file that holds `doc_id` in the current snapshot."""
        position = self._snapshot.position(doc_id)
        return self._snapshot.documents[position].filename if position is not None else None


def _elliptical(question: str) -> bool:
    core = "".join(ch for ch in question if ch.isalnum())
    return len(core) <= 10 or question.startswith(_ANAPHORA)


def _family_texts(snapshot: _Snapshot, family: str) -> List[str]:
    """The normalised text of each document of a policy family."""
    return [snapshot.index.text(i) for i, d in enumerate(snapshot.documents) if d.family == family]


def _clearly_elsewhere(hit: Optional[_Hit], family: str, snapshot: _Snapshot) -> bool:
    if hit is None or hit.confidence < FOLLOW_UP_OVERRIDE:
        return False
    return snapshot.documents[hit.position].family != family


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(path.name, f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentError(path.name, f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError(path.name, "not UTF-8 text") from None


def _write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
