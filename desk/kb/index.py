"""The searchable form of one snapshot of documents: BM25 rows and passage vectors.

Documents are indexed at two grains: the whole document (title and keywords weigh
double) decides which document answers; its sections decide which part is quoted.
Per-document analysis is cached by source text, so a reload re-analyses and re-embeds
only the documents that changed; the large arrays are copied from the previous snapshot
in runs of unchanged documents (`blocks.py`) and keyword postings are updated per
document, so a reload of 10,000 documents with one edit takes well under a second.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import DefaultDict, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import numpy as np

from desk.kb.blocks import Layout, SparseRows, dense, sparse_rows
from desk.kb.documents import Document
from desk.kb.embedding import CachedPassages
from desk.kb.lexical import BM25, TermRow, Vocabulary, stack
from desk.kb.text import Analyzer, char_bigrams, normalize

KeywordList = Tuple[Tuple[str, FrozenSet[str]], ...]  # normalised keyword, its words
_Entry = Tuple[str, str, FrozenSet[str]]  # document source, keyword, the keyword's words
EMBED_CHARS = 160  # e5 cost grows with length; a section's opening says what it is about


@dataclass(frozen=True)
class QueryFeatures:
    """Per-document evidence for one question (arrays indexed like `SearchIndex.documents`)."""

    bm25: np.ndarray
    coverage: np.ndarray
    similarity: np.ndarray  # best cosine of the question with a passage of the document
    section_similarity: np.ndarray  # per section (zeros without an embedder)
    rarest: float  # the largest IDF of the corpus, to compare BM25 across corpus sizes
    keyword: np.ndarray  # 1 where the question names one of the document's keywords or its title does
    # Letters and digits of the question as written: a long, rambling question matches
    # less of its document's words than a short one that answers just as well.
    length: int = 0


@dataclass(frozen=True)
class _Analysed:
    document_row: TermRow
    section_rows: Tuple[TermRow, ...]
    passages: Tuple[str, ...]  # summary passage, then one per section
    head_ids: frozenset  # term ids of the title: what the whole document is about
    text: str  # the normalised source: what `scope.ScopeCheck` looks for words in
    keywords: KeywordList
    head: str  # the normalised title and headings: what the document is about
    head_words: FrozenSet[str]  # the words of its title, keywords and headings
    topic_words: FrozenSet[str]  # the words of its title and keywords: what it is about
    # Whole words (precise segmentation) of its title and headings, and its keywords: the
    # words a typed or spoken slip may stand for (`homophones.py`).
    named: FrozenSet[str]
    # Dictionary words of its title, headings and text: what else a slip may stand for.
    body_words: FrozenSet[str]


class Indexer:
    """Builds `SearchIndex` snapshots, remembering the analysis of unchanged documents.

    Everything derived from one document (terms, keywords, passage vectors) is kept by its
    source text, so a reload of 10,000 documents with one edit redoes one document's work.
    """

    def __init__(self, analyzer: Analyzer, passages: Optional[CachedPassages] = None) -> None:
        self.analyzer = analyzer
        self.passages = passages
        self.vocabulary = Vocabulary()
        self._analysed: Dict[str, _Analysed] = {}
        self._vectors: Dict[Tuple[str, ...], np.ndarray] = {}
        self.keywords = _KeywordPostings()
        self.body_frequency: Counter = Counter()  # in how many documents a body word occurs
        self._last: Optional[_Arrays] = None  # the previous snapshot's, to copy from

    def build(self, documents: Sequence[Document]) -> "SearchIndex":
        new = [d for d in documents if d.source not in self._analysed]
        for document in new:  # before any analysis: new words change how others segment
            self.analyzer.learn([*document.meta.keywords, *(s.heading for s in document.sections)])
        analysed = [self._analyse(d) for d in documents]
        current = {d.source: a for d, a in zip(documents, analysed, strict=True)}
        removed = {s: a for s, a in self._analysed.items() if s not in current}
        self.keywords.update(
            removed={s: a.keywords for s, a in removed.items()},
            added={d.source: current[d.source].keywords for d in new},
        )
        for gone in removed.values():
            self.body_frequency.subtract(gone.body_words)
        for document in new:
            self.body_frequency.update(current[document.source].body_words)
        self.body_frequency = +self.body_frequency  # without the words no document uses now
        kept = {a.passages for a in analysed}
        for gone in removed.values():
            if gone.passages not in kept:
                self._vectors.pop(gone.passages, None)
        self._analysed = current
        arrays = self._arrays([d.source for d in documents], analysed)
        if self.passages is not None and new:
            self.passages.forget_except([a.passages for a in analysed])
        self._last = arrays
        return SearchIndex(list(documents), analysed, self, arrays)

    def _arrays(self, keys: List[str], analysed: List[_Analysed]) -> "_Arrays":
        """The snapshot's arrays, copied from the previous ones for unchanged documents."""
        last = self._last
        sections = [len(a.section_rows) for a in analysed]
        layouts = (Layout.of(keys, [1] * len(keys)), Layout.of(keys, sections))
        document_rows = sparse_rows(
            (last.layouts[0], last.document_rows) if last else None,
            keys,
            lambda i: stack([analysed[i].document_row]),
        )
        section_rows = sparse_rows(
            (last.layouts[1], last.section_rows) if last else None,
            keys,
            lambda i: stack(analysed[i].section_rows),
        )
        vectors, passages = None, None
        if self.passages is not None:
            store = self.passages
            blocks = [self._passage_vectors(store, a.passages) for a in analysed]
            passages = Layout.of(keys, [len(b) for b in blocks])
            previous = (
                (last.passages, last.vectors) if last and last.passages and last.vectors is not None else None
            )
            width = blocks[0].shape[1] if blocks else 0
            vectors = dense(previous, keys, lambda i: blocks[i], width)
        return _Arrays(layouts, document_rows, section_rows, passages, vectors)

    def _passage_vectors(self, store: CachedPassages, passages: Tuple[str, ...]) -> np.ndarray:
        cached = self._vectors.get(passages)
        if cached is None:
            cached = store.vectors(passages)
            cached.flags.writeable = False
            self._vectors[passages] = cached
        return cached

    def _analyse(self, document: Document) -> _Analysed:
        cached = self._analysed.get(document.source)
        if cached is not None:
            return cached
        meta = document.meta
        head = " ".join([meta.title, meta.title, *meta.keywords, *meta.keywords])
        body = "\n".join(f"{s.heading}\n{s.text}" for s in document.sections)
        terms = self.analyzer.terms
        head_row = self.vocabulary.row(terms(meta.title))
        keywords = {k for k in map(normalize, meta.keywords) if len(k) >= 2}
        headings = [s.heading for s in document.sections]
        return _Analysed(
            document_row=self.vocabulary.row(terms(f"{head}\n{body}")),
            section_rows=tuple(
                self.vocabulary.row(terms(f"{s.heading} {s.text}")) for s in document.sections
            ),
            passages=(
                f"{meta.title}：{'、'.join(meta.keywords)}",
                *(f"{meta.title} {s.heading}：{s.text[:EMBED_CHARS]}" for s in document.sections),
            ),
            head_ids=frozenset(int(i) for i in head_row.ids),
            text=normalize(document.source),
            keywords=tuple((k, frozenset(self.analyzer.segments(k))) for k in sorted(keywords)),
            head=normalize(" ".join([meta.title, *headings])),
            head_words=frozenset(self.analyzer.words(" ".join([meta.title, *meta.keywords, *headings]))),
            topic_words=frozenset(self.analyzer.words(" ".join([meta.title, *meta.keywords]))),
            named=frozenset(
                [
                    *keywords,
                    *(t for t in self.analyzer.tokens(" ".join([meta.title, *headings])) if len(t) > 1),
                ]
            ),
            body_words=frozenset(
                t
                for t in self.analyzer.tokens(f"{head}\n{body}")
                if len(t) > 1 and self.analyzer.frequency(t)
            ),
        )


class SearchIndex:
    """Immutable ranking structures for a list of documents."""

    def __init__(
        self,
        documents: List[Document],
        analysed: List[_Analysed],
        indexer: Indexer,
        arrays: "_Arrays",
    ) -> None:
        self.documents = documents
        self._indexer = indexer
        width = len(indexer.vocabulary)
        self._documents_bm25 = BM25(arrays.document_rows, width)
        self._sections_bm25 = BM25(arrays.section_rows, width)
        self._head_ids = [a.head_ids for a in analysed]
        self._texts = [a.text for a in analysed]
        self._heads = [a.head for a in analysed]
        self._titles = [normalize(d.title) for d in documents]
        self._head_words = [a.head_words for a in analysed]
        self._named = [a.named for a in analysed]
        self._body_frequency = dict(indexer.body_frequency)
        # In how many documents' titles or keywords a word occurs (`scope.py`).
        self.topic_frequency: Counter = Counter(w for a in analysed for w in a.topic_words)
        self._positions = {d.source: i for i, d in enumerate(documents)}
        counts = [len(a.section_rows) for a in analysed]
        self.section_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._vectors: Optional[np.ndarray] = None
        if arrays.vectors is not None and len(arrays.vectors):
            self._vectors = arrays.vectors
            # Passage row -> document; each document has a summary row plus its sections.
            rows = [len(a.passages) for a in analysed]
            self._passage_doc = np.repeat(np.arange(len(documents)), rows)
            self._passage_start = np.concatenate([[0], np.cumsum(rows)])

    @property
    def has_vectors(self) -> bool:
        return self._vectors is not None

    def features(
        self, question: str, query_vector: Optional[np.ndarray], written: Optional[str] = None
    ) -> QueryFeatures:
        """Evidence per document for `question` (expanded by the lexicon); `written` is the
        question as the citizen put it (default: `question`)."""
        analyzer = self._indexer.analyzer
        vocabulary = self._indexer.vocabulary
        ids, counts, _ = vocabulary.lookup(analyzer.terms(question))
        word_ids, word_counts, unknown_words = vocabulary.lookup(analyzer.words(question))
        size = len(self.documents)
        similarity = np.zeros(size, dtype=np.float32)
        section_similarity = np.zeros(int(self.section_start[-1]), dtype=np.float32)
        if self._vectors is not None and query_vector is not None and size:
            cosines = self._vectors @ query_vector
            similarity = np.full(size, -1.0, dtype=np.float32)
            np.maximum.at(similarity, self._passage_doc, cosines)
            summary_rows = self._passage_start[:-1]
            section_similarity = np.delete(cosines, summary_rows)
        return QueryFeatures(
            bm25=self._documents_bm25.scores(ids, counts),
            coverage=self._documents_bm25.coverage(word_ids, word_counts, unknown_words),
            similarity=similarity,
            section_similarity=section_similarity,
            rarest=self._documents_bm25.max_idf,
            keyword=self._keyword_hits(normalize(question), analyzer.words(question), written),
            length=sum(ch.isalnum() for ch in (written if written is not None else question)),
        )

    def _keyword_hits(self, question: str, words: Sequence[str], written: Optional[str]) -> np.ndarray:
        """1 for documents whose keyword the question names: as written ("公积金贷款"), or
        as all of the keyword's words ("公积金…能贷", expanded to 公积金 and 贷款). Not a
        keyword that names people (`people` in lexicon.yml)."""
        found = np.zeros(len(self.documents), dtype=np.float32)
        asked = set(words)
        completed = set()
        said = normalize(written) if written is not None else question
        people = self._indexer.analyzer.lexicon.people
        for source, keyword, parts in self._indexer.keywords.candidates(asked):
            position = self._positions.get(source)
            if keyword in people:  # whom the document serves ("老年人"), not what it answers
                continue
            if position is not None and (keyword in question or (parts and parts <= asked)):
                found[position] = 1.0
                if keyword not in said:
                    completed.add(keyword)
        # A keyword the lexicon completed ("公积金" -> "住房公积金") names the topic of every
        # document whose title has it, not just of the one (租房提取) that lists it.
        for keyword in completed:
            found[[keyword in title for title in self._titles]] = 1.0
        return found

    def text(self, position: int) -> str:
        """The normalised source of a document."""
        return self._texts[position]

    def head(self, position: int) -> str:
        """The normalised title and headings of a document."""
        return self._heads[position]

    def has_text(self, stretch: str) -> bool:
        """Whether the documents hold `stretch`: as an indexed word, or every character pair
        of it occurs somewhere (cheap, and enough to tell a typing slip from their words)."""
        vocabulary = self._indexer.vocabulary
        pairs = char_bigrams(normalize(stretch))
        return stretch in vocabulary or bool(pairs) and all("#" + p in vocabulary for p in pairs)

    def named_words(self) -> Set[str]:
        """The whole words of all documents' titles and headings, and their keywords."""
        return set().union(*self._named) if self._named else set()

    def rare_words(self, limit: float) -> Set[str]:
        """The dictionary words of the documents that at most `limit` documents use."""
        return {w for w, n in self._body_frequency.items() if n <= limit}

    def head_words(self, position: int) -> FrozenSet[str]:
        """The words of a document's title, keywords and headings."""
        return self._head_words[position]

    def section_focus(self, position: int, question: str) -> np.ndarray:
        """BM25 of the document's sections for the question's words that are not about the
        document's topic (its title): what the question asks of that topic."""
        rows = self.sections_of(position)
        analyzer = self._indexer.analyzer
        ids, counts, _ = self._indexer.vocabulary.lookup(analyzer.terms(analyzer.expand(question)))
        keep = np.array([int(i) not in self._head_ids[position] for i in ids], dtype=bool)
        if not keep.any():
            return np.zeros(rows.stop - rows.start, dtype=np.float32)
        return self._sections_bm25.scores_of(rows.start, rows.stop, ids[keep], counts[keep])

    def sections_of(self, position: int) -> slice:
        return slice(int(self.section_start[position]), int(self.section_start[position + 1]))


@dataclass(frozen=True)
class _Arrays:
    """A snapshot's large arrays and where each document's rows are in them."""

    layouts: Tuple[Layout, Layout]  # document rows, section rows
    document_rows: SparseRows
    section_rows: SparseRows
    passages: Optional[Layout]
    vectors: Optional[np.ndarray]


class _KeywordPostings:
    """Keyword word -> (document source, keyword, the keyword's words), kept up to date one
    document at a time. Each posting list is replaced, never changed, so a snapshot that is
    answering while a reload runs reads a consistent list (entries of documents it does not
    have are skipped by position)."""

    def __init__(self) -> None:
        self._postings: Dict[str, Tuple[_Entry, ...]] = {}

    def update(self, removed: Dict[str, KeywordList], added: Dict[str, KeywordList]) -> None:
        gone: DefaultDict[str, Set[str]] = defaultdict(set)
        for source, keywords in removed.items():
            for word in _posting_words(keywords):
                gone[word].add(source)
        for word, sources in gone.items():
            self._postings[word] = tuple(e for e in self._postings.get(word, ()) if e[0] not in sources)
        fresh: DefaultDict[str, List[_Entry]] = defaultdict(list)
        for source, keywords in added.items():
            for keyword, parts in keywords:
                for word in parts | {keyword}:
                    fresh[word].append((source, keyword, parts))
        for word, entries in fresh.items():
            self._postings[word] = self._postings.get(word, ()) + tuple(entries)

    def candidates(self, words: Set[str]) -> List[_Entry]:
        return [e for word in words for e in self._postings.get(word, ())]


def _posting_words(keywords: KeywordList) -> Set[str]:
    return {w for keyword, parts in keywords for w in parts | {keyword}}
