"""The searchable form of one snapshot of documents: BM25 rows and passage vectors.

Documents are indexed at two grains: the whole document (title and keywords weigh
double) decides which document answers; its sections decide which part is quoted.
Per-document analysis is cached by source text, so a reload re-analyses and re-embeds
only the documents that changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from desk.kb.documents import Document
from desk.kb.embedding import CachedPassages
from desk.kb.lexical import BM25, TermRow, Vocabulary
from desk.kb.text import Analyzer, normalize

EMBED_CHARS = 160  # e5 cost grows with length; a section's opening says what it is about


@dataclass(frozen=True)
class QueryFeatures:
    """Per-document evidence for one question (arrays indexed like `SearchIndex.documents`)."""

    bm25: np.ndarray
    coverage: np.ndarray
    similarity: np.ndarray  # best cosine of the question with a passage of the document
    section_bm25: np.ndarray  # per section
    section_similarity: np.ndarray  # per section (zeros without an embedder)
    rarest: float  # the largest IDF of the corpus, to compare BM25 across corpus sizes
    keyword: np.ndarray  # 1 where the question contains one of the document's keywords


@dataclass(frozen=True)
class _Analysed:
    document_row: TermRow
    section_rows: Tuple[TermRow, ...]
    passages: Tuple[str, ...]  # summary passage, then one per section
    head_ids: frozenset  # term ids of the title: what the whole document is about


class Indexer:
    """Builds `SearchIndex` snapshots, remembering the analysis of unchanged documents."""

    def __init__(self, analyzer: Analyzer, passages: Optional[CachedPassages] = None) -> None:
        self.analyzer = analyzer
        self.passages = passages
        self.vocabulary = Vocabulary()
        self._analysed: Dict[str, _Analysed] = {}

    def build(self, documents: Sequence[Document]) -> "SearchIndex":
        for document in documents:
            self.analyzer.learn([*document.meta.keywords, *(s.heading for s in document.sections)])
        analysed = [self._analyse(d) for d in documents]
        self._analysed = {d.source: a for d, a in zip(documents, analysed, strict=True)}
        vectors = None
        if self.passages is not None:
            vectors = [self.passages.vectors(a.passages) for a in analysed]
            self.passages.forget_except([a.passages for a in analysed])
        return SearchIndex(list(documents), analysed, self, vectors)

    def _analyse(self, document: Document) -> _Analysed:
        cached = self._analysed.get(document.source)
        if cached is not None:
            return cached
        meta = document.meta
        head = " ".join([meta.title, meta.title, *meta.keywords, *meta.keywords])
        body = "\n".join(f"{s.heading}\n{s.text}" for s in document.sections)
        terms = self.analyzer.terms
        head_row = self.vocabulary.row(terms(meta.title))
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
        )


class SearchIndex:
    """Immutable ranking structures for a list of documents."""

    def __init__(
        self,
        documents: List[Document],
        analysed: List[_Analysed],
        indexer: Indexer,
        vectors: Optional[List[np.ndarray]],
    ) -> None:
        self.documents = documents
        self._indexer = indexer
        width = len(indexer.vocabulary)
        self._documents_bm25 = BM25([a.document_row for a in analysed], width)
        self._sections_bm25 = BM25([r for a in analysed for r in a.section_rows], width)
        self._head_ids = [a.head_ids for a in analysed]
        self._keywords = [
            tuple({k for k in map(normalize, d.meta.keywords) if len(k) >= 2}) for d in documents
        ]
        counts = [len(a.section_rows) for a in analysed]
        self.section_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._vectors: Optional[np.ndarray] = None
        if vectors:
            self._vectors = np.vstack(vectors)
            # Passage row -> document; each document has a summary row plus its sections.
            self._passage_doc = np.repeat(np.arange(len(documents)), [len(v) for v in vectors])
            self._passage_start = np.concatenate([[0], np.cumsum([len(v) for v in vectors])])

    @property
    def has_vectors(self) -> bool:
        return self._vectors is not None

    def features(self, question: str, query_vector: Optional[np.ndarray]) -> QueryFeatures:
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
            section_bm25=self._sections_bm25.scores(ids, counts),
            section_similarity=section_similarity,
            rarest=self._documents_bm25.max_idf,
            keyword=self._keyword_hits(normalize(question)),
        )

    def _keyword_hits(self, question: str) -> np.ndarray:
        return np.array([any(k in question for k in keys) for keys in self._keywords], dtype=np.float32)

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
