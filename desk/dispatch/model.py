"""The learned part of dispatch: scenario and request type from a citizen's message.

Features are character n-grams (robust to typos and unseen words), jieba words with the
city's own vocabulary, the profile's keyword scores per scenario and concept pairs
(night x construction ...). Two linear SVMs (one-vs-rest) pick scenario and request type;
a softmax over their margins is the confidence that the manual-dispatch threshold reads.
Training on a few thousand messages takes seconds on two cores.
"""

from __future__ import annotations

import copy
import logging
import pickle
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import jieba
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from desk.city.profile import CityProfile
from desk.dispatch.dataset import Example
from desk.dispatch.keywords import ConceptFeatures, KeywordFeatures
from desk.dispatch.normalize import normalize

log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)
MARGIN_SCALE = 4.0


class Segmenter:
    """jieba with the city's vocabulary (streets, districts, scenario keywords)."""

    def __init__(self, profile: CityProfile) -> None:
        self._jieba = jieba.Tokenizer()
        for district, streets in profile.districts.items():
            for word in [district, *streets]:
                self._jieba.add_word(word, freq=2000)
        for _, _, scenario in profile.scenarios():
            for keyword in scenario.keywords:
                for part in keyword.split("+"):
                    if len(part) >= 2:
                        self._jieba.add_word(part.lower(), freq=1000)

    def __call__(self, text: str) -> List[str]:
        return [w for w in self._jieba.lcut(text) if w.strip()]


class DispatchModel:
    """Scenario ("category.scenario" or "none") and request type of a message."""

    def __init__(self, profile: CityProfile) -> None:
        self._keywords = KeywordFeatures(profile)
        self._concepts = ConceptFeatures()
        self._segment = Segmenter(profile)
        self._chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        self._words = TfidfVectorizer(
            tokenizer=self._segment,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, 2),
            sublinear_tf=True,
        )
        self._scenario = LinearSVC(C=1.0)
        self._type = LinearSVC(C=1.0)

    def _features(self, texts: Sequence[str], fit: bool = False) -> sparse.csr_matrix:
        if fit:
            chars = self._chars.fit_transform(texts)
            words = self._words.fit_transform(texts)
        else:
            chars = self._chars.transform(texts)
            words = self._words.transform(texts)
        extra = [self._keywords.transform(texts), self._concepts.transform(texts)]
        return sparse.hstack([chars, words, *extra]).tocsr()

    def fit(self, examples: Sequence[Example]) -> "DispatchModel":
        texts = [normalize(e.text) for e in examples]
        features = self._features(texts, fit=True)
        self._scenario.fit(features, [e.label for e in examples])
        self._type.fit(features, [e.type for e in examples])
        return self

    def predict(self, text: str) -> Tuple[List[Tuple[str, float]], List[Tuple[str, float]]]:
        """Ranked (label, probability) for scenario and for request type."""
        features = self._features([normalize(text)])
        return (
            _ranked(self._scenario.classes_, _softmax(_margins(self._scenario, features))),
            _ranked(self._type.classes_, _softmax(_margins(self._type, features))),
        )

    def __getstate__(self) -> dict:
        # The segmenter holds jieba's whole dictionary: rebuild it on load instead.
        state = dict(self.__dict__)
        state.pop("_segment")
        state["_words"] = _without_tokenizer(self._words)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def attach(self, profile: CityProfile) -> "DispatchModel":
        """Re-creates what is not pickled (the segmenter) after loading."""
        self._segment = Segmenter(profile)
        self._words.tokenizer = self._segment
        self._keywords = KeywordFeatures(profile)
        self._concepts = ConceptFeatures()
        return self

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(self))
        tmp.replace(path)

    @staticmethod
    def load(path: Path, profile: CityProfile) -> Optional["DispatchModel"]:
        """Loads a model desk itself wrote; None if missing or unreadable."""
        try:
            model = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, AttributeError, EOFError, ImportError):
            return None
        return model.attach(profile) if isinstance(model, DispatchModel) else None


def _without_tokenizer(vectorizer: TfidfVectorizer) -> TfidfVectorizer:
    clone = copy.copy(vectorizer)
    clone.tokenizer = None
    return clone


def _margins(classifier: LinearSVC, features: sparse.csr_matrix) -> np.ndarray:
    """One margin per class, also for a two-class model (which has a single margin)."""
    margins = np.atleast_1d(classifier.decision_function(features)[0])
    return np.array([-margins[0], margins[0]]) if len(classifier.classes_) == 2 else margins


def _softmax(margins: np.ndarray) -> np.ndarray:
    """Turns one-vs-rest margins into a confidence that sums to one (monotonic in margin)."""
    scaled = MARGIN_SCALE * (margins - margins.max())
    weights = np.exp(scaled)
    return weights / weights.sum()


def _ranked(classes: Sequence[str], probabilities: np.ndarray) -> List[Tuple[str, float]]:
    order = np.argsort(probabilities)[::-1]
    return [(str(classes[i]), float(probabilities[i])) for i in order]
