"""BM25 over sparse term matrices (numpy/scipy), rebuilt in milliseconds from cached rows.

Terms get ids from a `Vocabulary` that only grows, so the term ids of an unchanged
document stay valid and a reload only re-analyses the documents that changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
from scipy import sparse

from desk.kb.blocks import SparseRows


class Vocabulary:
    """Term -> id; ids are stable for the life of the process."""

    def __init__(self) -> None:
        self._ids: Dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, term: str) -> bool:
        return term in self._ids

    def row(self, terms: Sequence[str]) -> "TermRow":
        """Ids and counts of a text's terms, adding new terms."""
        counts = Counter(terms)
        ids = np.fromiter((self._ids.setdefault(t, len(self._ids)) for t in counts), dtype=np.int64)
        values = np.fromiter(counts.values(), dtype=np.float32)
        return TermRow(ids, values, float(values.sum()))

    def lookup(self, terms: Sequence[str]) -> Tuple[np.ndarray, np.ndarray, int]:
        """Known term ids with their counts in the query, and how many terms were unknown."""
        counts = Counter(terms)
        known = [(self._ids[t], n) for t, n in counts.items() if t in self._ids]
        ids = np.array([i for i, _ in known], dtype=np.int64)
        weights = np.array([n for _, n in known], dtype=np.float32)
        return ids, weights, len(counts) - len(known)


@dataclass(frozen=True)
class TermRow:
    ids: np.ndarray
    counts: np.ndarray
    length: float  # the sum of counts, kept: a 10,000-document rebuild reads it 70,000 times


class BM25:
    """Okapi BM25 over rows (documents or sections)."""

    def __init__(self, rows: SparseRows, vocabulary_size: int, k1: float = 1.2, b: float = 0.75):
        self.rows = rows  # the raw counts, which the next reload copies from (`blocks.py`)
        self.size = len(rows.nonzeros)
        self.width = max(vocabulary_size, 1)
        lengths = rows.lengths
        counts = rows.matrix(self.width)
        df = np.bincount(counts.indices, minlength=self.width)[: self.width]
        n = max(self.size, 1)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.max_idf = float(np.log(1.0 + (n + 0.5) / 0.5))
        avg = float(lengths.mean()) if self.size else 1.0
        norm = k1 * (1.0 - b + b * lengths / max(avg, 1e-6))
        row_of = np.repeat(np.arange(self.size), np.diff(counts.indptr))
        tf = counts.data
        counts.data = (tf * (k1 + 1.0) / (tf + norm[row_of])).astype(np.float32)
        # Row-major only: a column-major copy would score a question faster but cost a
        # 10,000-document reload a tenth of a second; a product with a dense query vector
        # over all rows takes milliseconds.
        self._rows = counts
        self._presence = sparse.csr_matrix(
            (np.ones(len(counts.data), dtype=np.float32), counts.indices, counts.indptr), shape=counts.shape
        )

    def scores(self, ids: np.ndarray, query_counts: np.ndarray) -> np.ndarray:
        """BM25 score of every row for a query given as term ids and counts."""
        ids, query_counts = self._known(ids, query_counts)
        if not len(ids) or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return self._rows @ self._dense(ids, self.idf[ids] * query_counts)

    def scores_of(self, start: int, stop: int, ids: np.ndarray, query_counts: np.ndarray) -> np.ndarray:
        """BM25 of rows start..stop only (one document's sections), cheap on a large index."""
        ids, query_counts = self._known(ids, query_counts)
        if not len(ids) or stop <= start:
            return np.zeros(max(stop - start, 0), dtype=np.float32)
        return np.asarray(self._rows[start:stop][:, ids] @ (self.idf[ids] * query_counts)).ravel()

    def coverage(self, ids: np.ndarray, query_counts: np.ndarray, unknown: int) -> np.ndarray:
        """Share of the query's IDF mass each row contains (unknown terms count as rarest)."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        inside = ids < self.width  # terms learnt after this index was built are unknown to it
        unknown += int((~inside).sum())
        ids, query_counts = ids[inside], query_counts[inside]
        weights = self.idf[ids] * np.minimum(query_counts, 1.0) if len(ids) else np.zeros(0)
        total = float(weights.sum()) + unknown * self.max_idf
        if total <= 0 or not len(ids):
            return np.zeros(self.size, dtype=np.float32)
        return self._presence @ self._dense(ids, weights) / total

    def _dense(self, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        vector = np.zeros(self.width, dtype=np.float32)
        vector[ids] = weights  # ids are distinct: they come from a Counter
        return vector

    def _known(self, ids: np.ndarray, counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        inside = ids < self.width
        return ids[inside], counts[inside]


def stack(rows: Sequence[TermRow]) -> SparseRows:
    """Term rows as one block of CSR parts."""
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return SparseRows(empty, np.zeros(0, np.float32), empty, np.zeros(0, np.float32))
    return SparseRows(
        np.concatenate([r.ids for r in rows]),
        np.concatenate([r.counts for r in rows]),
        np.array([len(r.ids) for r in rows], dtype=np.int64),
        np.array([r.length for r in rows], dtype=np.float32),
    )
