"""Which document answers: versions in force, the year a question names, scores, confidence.

The rank score fuses the embedding similarity (relative to the best document) with BM25
(relative to the best document); the confidence is a logistic model over absolute evidence
(similarity, BM25, the share of the question's words the document contains), with weights
kept as data in `confidence.yml` and refitted by `python -m desk.kb.evaluate --fit`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import yaml

from desk.kb.documents import Document
from desk.kb.index import QueryFeatures

WEIGHTS = Path(__file__).with_name("confidence.yml")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*(?:年|版)")
# "25年那会儿", "26年的", "25年8月", "25年一整年": a two-digit year only where it cannot be a duration
# ("满20年", "交了15年8个月").
_SHORT_YEAR = re.compile(r"(?<![\d满近超过约共])([12]\d)年(?=那|的|度|版|时|起|\d{1,2}月|一?整年|全年)")
RELATIVE_YEARS = {"前年": -2, "去年": -1, "上年": -1, "今年": 0, "本年": 0, "明年": 1}
NOW_WORDS = ("现在", "目前", "如今", "眼下", "马上")
THEN_WORDS = ("当时", "那时", "那会")
SIMILARITY_SCALE = 30.0  # a cosine gap of 0.033 weighs as much as the whole BM25 range
KEYWORD_BONUS = 0.5  # the question names one of the document's keywords
ASK_BONUS = 0.3  # re-rank: the candidate has a section of the kind the question asks for
RERANK_DEPTH = 3
AUDIENCE_MARGIN = 1.0  # how far behind a general document may be to go before a narrowed one


def asked_year(question: str, today: dt.date, latest: bool = False) -> Optional[int]:
    """The year a question names ("2025年的…", "去年…"), if any; of several, the last one:
    "去年没赶上集中交费 今年三月份才补交的…能报销不" asks about this year's rules; or, with
    `latest`, the latest one, wherever it is said ("我今年二月才回来，去年年底交医保时不在…")."""
    found = [(m.start(), int(m.group(1))) for m in _YEAR.finditer(question)]
    found += [(m.start(), 2000 + int(m.group(1))) for m in _SHORT_YEAR.finditer(question)]
    found += [
        (m.start(), today.year + offset)
        for word, offset in RELATIVE_YEARS.items()
        for m in re.finditer(word, question)
    ]
    if not found:
        return None
    return max(year for _, year in found) if latest else max(found)[1]


def eligible(documents: Sequence[Document], today: dt.date, year: Optional[int]) -> np.ndarray:
    """Mask of the documents that may answer: per policy family, the version that applies.

    A question about now gets the version in force today; one that names a year gets the
    version in force during that year when the family has one. Documents outside both are
    never used (expired, or not yet effective).
    """
    mask = np.zeros(len(documents), dtype=bool)
    families: Dict[str, List[int]] = {}
    for position, document in enumerate(documents):
        families.setdefault(document.family, []).append(position)
    for members in families.values():
        chosen = _version(documents, members, today, year)
        if chosen is not None:
            mask[chosen] = True
    return mask


def _version(documents: Sequence[Document], members: List[int], today: dt.date, year: Optional[int]):
    def latest(positions: List[int]) -> Optional[int]:
        return max(positions, key=lambda p: documents[p].meta.effective, default=None)

    if year is not None and year != today.year:
        during = latest([p for p in members if documents[p].in_force_during(year)])
        if during is not None:
            return during
    return latest([p for p in members if documents[p].in_force_on(today)])


def rank_scores(features: QueryFeatures, mask: np.ndarray) -> np.ndarray:
    """Fused score per document; -inf where the mask excludes it."""
    scores = _relative(features.bm25, mask) + KEYWORD_BONUS * features.keyword
    if features.similarity.any():
        best = features.similarity[mask].max() if mask.any() else 0.0
        scores = scores + SIMILARITY_SCALE * (features.similarity - best)
    return np.where(mask, scores, -np.inf)


def rerank(
    scores: np.ndarray, documents: Sequence[Document], cued_headings: Sequence[Sequence[str]]
) -> np.ndarray:
    """Second stage over the best few: a document with a section of the kind the question
    asks for ("一年能提多少" -> a heading with 额度) beats one that only shares its topic."""
    if not cued_headings:
        return scores
    scores = scores.copy()
    finite = np.isfinite(scores)
    for position in np.argsort(-scores)[:RERANK_DEPTH]:
        if not finite[position]:
            continue
        headings = [s.heading for s in documents[int(position)].sections]
        if any(any(w in h for w in group for h in headings) for group in cued_headings):
            scores[position] += ASK_BONUS
    return scores


def general_first(
    scores: np.ndarray, documents: Sequence[Document], question: str, audiences: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Among the best few, a document whose title narrows it to a group (`audiences` in the
    lexicon: 新生儿) that the question never names ranks after the best one narrowed to no
    group, where that one scores within `AUDIENCE_MARGIN`: "居民医保今年一个人交多少" asks
    the general 缴费标准, which the 新生儿 guide only quotes. `question` is normalised."""
    if not audiences:
        return scores
    best = [int(p) for p in np.argsort(-scores)[:RERANK_DEPTH] if np.isfinite(scores[p])]

    def groups(position: int) -> List[str]:
        return [group for group in audiences if group in documents[position].title]

    narrowed = groups(best[0]) if best else []
    if not narrowed or any(word in question for group in narrowed for word in audiences[group]):
        return scores
    general = next((p for p in best[1:] if not groups(p)), None)
    if general is None or scores[best[0]] - scores[general] > AUDIENCE_MARGIN:
        return scores
    scores = scores.copy()
    scores[general] = scores[best[0]] + 1e-6
    return scores


def _relative(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    top = float(values[mask].max()) if mask.any() else 0.0
    return values / top if top > 0 else np.zeros_like(values)


@dataclass(frozen=True)
class ConfidenceModel:
    """Logistic weights over `evidence()`; one set with embeddings, one for BM25 alone.

    `rules` are set by hand, not fitted: evidence that alone decides (a question about a
    thing the document never mentions), added to the logit of both sets.
    """

    with_vectors: Dict[str, float]
    lexical_only: Dict[str, float]
    rules: Dict[str, float] = field(default_factory=dict)

    def confidence(self, evidence: Dict[str, float], has_vectors: bool) -> float:
        weights = {**(self.with_vectors if has_vectors else self.lexical_only), **self.rules}
        logit = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in evidence.items())
        return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


@lru_cache(maxsize=4)
def load_confidence_model(path: Path = WEIGHTS) -> ConfidenceModel:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return ConfidenceModel(
        with_vectors={str(k): float(v) for k, v in data["with_vectors"].items()},
        lexical_only={str(k): float(v) for k, v in data["lexical_only"].items()},
        rules={str(k): float(v) for k, v in (data.get("rules") or {}).items()},
    )


def evidence(features: QueryFeatures, position: int, mask: np.ndarray) -> Dict[str, float]:
    """Absolute evidence that document `position` answers the question."""
    found = {
        "coverage": float(features.coverage[position]),
        "log_bm25": math.log1p(float(features.bm25[position]) / features.rarest),
        "keyword": float(features.keyword[position]),
    }
    if features.similarity.any():
        similarity = features.similarity[mask] if mask.any() else features.similarity
        spread = float(similarity.std()) or 1.0
        found["similarity_z"] = (float(features.similarity[position]) - float(similarity.mean())) / spread
    found["log_length"] = math.log(max(1, features.length))
    if "similarity_z" in found:
        # In a long question few words match, and the meaning says more than they do.
        found["similarity_by_length"] = found["similarity_z"] * found["log_length"]
    return found


FEATURES_LEXICAL = ("coverage", "log_bm25", "keyword", "log_length")
FEATURES_WITH_VECTORS = (*FEATURES_LEXICAL, "similarity_z", "similarity_by_length")
# Evidence weighed by `rules` in confidence.yml, never fitted (desk/kb/scope.py).
RULES = ("foreign_object", "side_object", "foreign_concept")


def ruled_out(found: Dict[str, float]) -> bool:
    """Whether a scope rule (`RULES`) rules the document out."""
    return any(found.get(rule) for rule in RULES)
