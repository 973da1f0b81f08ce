"""Per-document blocks of rows, rebuilt after a reload by copying unchanged blocks in runs.

A snapshot keeps its passage vectors and BM25 term rows in a few large arrays, one block of
rows per document. Stacking 10,000 small per-document arrays again after each edit costs
seconds; copying the previous snapshot's arrays in a handful of slices (one run before the
edited document, one after) costs milliseconds. The previous arrays are never changed, so
a snapshot still answering questions during the reload is unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from scipy import sparse

Span = Tuple[int, int]  # rows [start, stop) of the previous arrays
Piece = Union[Span, int]  # a run of previous rows, or the position of a document to add


@dataclass(frozen=True)
class Layout:
    """Where each document's rows are: document key (its source text) -> row span."""

    spans: Dict[str, Span]

    @staticmethod
    def of(keys: Sequence[str], rows: Sequence[int]) -> "Layout":
        stops = np.cumsum(rows, dtype=np.int64)
        return Layout({k: (int(stop - n), int(stop)) for k, n, stop in zip(keys, rows, stops, strict=True)})

    def plan(self, keys: Sequence[str]) -> List[Piece]:
        """Pieces that make the new order: runs of previous rows, merged where contiguous."""
        pieces: List[Piece] = []
        for position, key in enumerate(keys):
            span = self.spans.get(key)
            last = pieces[-1] if pieces else None
            if span is None:
                pieces.append(position)
            elif isinstance(last, tuple) and last[1] == span[0]:
                pieces[-1] = (last[0], span[1])
            else:
                pieces.append(span)
        return pieces


def dense(
    previous: Optional[Tuple[Layout, np.ndarray]],
    keys: Sequence[str],
    block: Callable[[int], np.ndarray],
    width: int,
) -> np.ndarray:
    """Rows of every document in `keys` order; `block(position)` gives a new document's."""
    if previous is None:
        parts = [block(i) for i in range(len(keys))]
    else:
        layout, rows = previous
        parts = [rows[p[0] : p[1]] if isinstance(p, tuple) else block(p) for p in layout.plan(keys)]
    parts = [p for p in parts if len(p)]
    return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros((0, width), np.float32)


@dataclass(frozen=True)
class SparseRows:
    """Term counts of rows as CSR parts (ids, counts, nonzeros per row) and row lengths."""

    indices: np.ndarray
    counts: np.ndarray
    nonzeros: np.ndarray
    lengths: np.ndarray

    def matrix(self, width: int) -> sparse.csr_matrix:
        indptr = np.concatenate([[0], np.cumsum(self.nonzeros)]).astype(np.int64)
        shape = (len(self.nonzeros), width)
        return sparse.csr_matrix((self.counts.copy(), self.indices, indptr), shape=shape)


def sparse_rows(
    previous: Optional[Tuple[Layout, SparseRows]],
    keys: Sequence[str],
    block: Callable[[int], SparseRows],
) -> SparseRows:
    """Like `dense`, for term rows; `block(position)` gives a new document's rows."""
    if previous is None:
        parts = [block(i) for i in range(len(keys))]
    else:
        layout, rows = previous
        starts = np.concatenate([[0], np.cumsum(rows.nonzeros)]).astype(np.int64)
        parts = [_slice(rows, starts, p) if isinstance(p, tuple) else block(p) for p in layout.plan(keys)]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return SparseRows(empty, np.zeros(0, np.float32), empty, np.zeros(0, np.float32))
    return SparseRows(
        np.concatenate([p.indices for p in parts]),
        np.concatenate([p.counts for p in parts]).astype(np.float32, copy=False),
        np.concatenate([p.nonzeros for p in parts]),
        np.concatenate([p.lengths for p in parts]).astype(np.float32, copy=False),
    )


def _slice(rows: SparseRows, starts: np.ndarray, span: Span) -> SparseRows:
    first, last = int(starts[span[0]]), int(starts[span[1]])
    return SparseRows(
        rows.indices[first:last],
        rows.counts[first:last],
        rows.nonzeros[span[0] : span[1]],
        rows.lengths[span[0] : span[1]],
    )
