"""The profile's scenario keywords: the rules of dispatch, as scores."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
from scipy import sparse

from desk import yamlfiles
from desk.city.profile import CityProfile

KEYWORD_SCALE = 0.1
CONCEPTS = Path(__file__).with_name("concepts.yml")


def keyword_weight(keyword: str, text: str) -> int:
    """Weight of ``keyword`` in ``text``: 0 when absent; combos ("a+b") weigh more."""
    parts = [p for p in keyword.split("+") if p]
    if not parts or not all(p in text for p in parts):
        return 0
    return sum(len(p) for p in parts) + (len(parts) - 1) * 2


class KeywordFeatures:
    """One keyword score per scenario of the matrix, in the profile's order."""

    def __init__(self, profile: CityProfile) -> None:
        self.labels = [f"{c}.{s}" for c, s, _ in profile.scenarios()]
        self._keywords = [[k.lower() for k in sc.keywords] for _, _, sc in profile.scenarios()]

    def scores(self, text: str) -> List[int]:
        lowered = text.lower()
        return [sum(keyword_weight(k, lowered) for k in keywords) for keywords in self._keywords]

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows = [self.scores(t) for t in texts]
        return sparse.csr_matrix(np.asarray(rows, dtype=np.float64) * KEYWORD_SCALE)


class ConceptFeatures:
    """Presence of each concept (night, construction, music, ...) and of each pair."""

    def __init__(self, path: Path = CONCEPTS) -> None:
        raw: Dict[str, List[str]] = yamlfiles.load(path.read_text(encoding="utf-8"))
        self._concepts = [[w.lower() for w in words] for words in raw.values()]
        self._pairs = list(combinations(range(len(self._concepts)), 2))

    def vector(self, text: str) -> List[float]:
        present = [float(any(w in text for w in words)) for words in self._concepts]
        return present + [present[a] * present[b] for a, b in self._pairs]

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.csr_matrix(np.asarray([self.vector(t) for t in texts], dtype=np.float64))
