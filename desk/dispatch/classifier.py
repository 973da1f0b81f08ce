"""Dispatch (智能派单): text -> category, scenario, owner, request type, urgency, place.

`Dispatcher` uses the learned model when the city has training data and the profile's
keyword rules otherwise; both read only the city profile and its data, never code.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

from desk.city.profile import CityProfile
from desk.dispatch.dataset import NONE
from desk.dispatch.keywords import KeywordFeatures, keyword_weight
from desk.dispatch.location import LocationResolver, Place
from desk.dispatch.model import DispatchModel
from desk.dispatch.normalize import normalize

__all__ = ["Classification", "Dispatcher", "KeywordClassifier", "keyword_weight"]


@dataclass(frozen=True)
class Classification:
    category: Optional[str]
    scenario: Optional[str]
    owner: Optional[str]
    type: str
    urgent: bool
    district: Optional[str]
    street: Optional[str]
    location: Optional[str]
    confidence: float

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def _undispatched(rtype: str, urgent: bool, place: Place, confidence: float) -> Classification:
    return Classification(
        category=None,
        scenario=None,
        owner=None,
        type=rtype,
        urgent=urgent,
        district=place.district,
        street=place.street,
        location=place.location,
        confidence=round(confidence, 3),
    )


class KeywordClassifier:
    """Rules only: scores every scenario by the profile's keywords and cue words."""

    def __init__(self, profile: CityProfile) -> None:
        self._profile = profile
        self._keywords = KeywordFeatures(profile)
        self.locations = LocationResolver(profile)

    def place(self, text: str, location: Optional[str]) -> Place:
        place = self.locations.resolve(location or text)
        if location and place.location is None:
            return Place(place.district, place.street, location)
        return place

    def classify(self, text: str, location: Optional[str] = None) -> Classification:
        """Classifies ``text``; a pure question gets no category, scenario or owner."""
        place = self.place(text, location)
        text = normalize(text)
        ranked = self._rank(text)
        scenario = self._profile.categories[ranked[0][1]].scenarios[ranked[0][2]] if ranked else None
        urgent = bool(scenario and scenario.urgent) or self.has_urgent_cue(text)
        rtype = "urgent" if urgent else self._request_type(text, scenario is not None)
        if scenario is None or rtype == "consult":
            return _undispatched(rtype, urgent, place, 0.0 if scenario is None else 0.5)
        runner_up = ranked[1][0] if len(ranked) > 1 else 0
        return Classification(
            category=ranked[0][1],
            scenario=ranked[0][2],
            owner=scenario.owner,
            type=rtype,
            urgent=urgent,
            district=place.district,
            street=place.street,
            location=place.location,
            confidence=round(self._confidence(ranked[0][0], runner_up), 3),
        )

    def _rank(self, text: str) -> List[Tuple[int, str, str]]:
        scored: List[Tuple[int, str, str]] = []
        for score, label in zip(self._keywords.scores(text), self._keywords.labels, strict=True):
            if score:
                category, scenario = label.split(".", 1)
                scored.append((score, category, scenario))
        # Ties keep the profile's order, which lists the more specific scenario first.
        return sorted(scored, key=lambda item: -item[0])

    @staticmethod
    def _confidence(best: int, runner_up: int) -> float:
        strength = 1 - math.exp(-best / 4)  # how much evidence there is at all
        margin = best / (best + runner_up)  # how clearly it beats the next scenario
        return strength * margin

    def has_urgent_cue(self, text: str) -> bool:
        urgent = self._profile.request_types.get("urgent")
        return bool(urgent and any(c in text for c in urgent.cues))

    def _request_type(self, text: str, matched: bool) -> str:
        for code in ("report", "suggestion", "help", "complaint", "consult"):
            rtype = self._profile.request_types.get(code)
            if rtype and any(cue in text for cue in rtype.cues):
                return code
        return "complaint" if matched else "consult"


class Dispatcher:
    """The learned model where the city has data, the keyword rules where it has none."""

    def __init__(self, profile: CityProfile, model: Optional[DispatchModel] = None) -> None:
        self._profile = profile
        self._model = model
        self.rules = KeywordClassifier(profile)

    @property
    def learned(self) -> bool:
        return self._model is not None

    def adopt(self, other: "Dispatcher") -> None:
        """Switches to another dispatcher's model (a retrain) without a restart."""
        self._model = other._model

    def classify(self, text: str, location: Optional[str] = None) -> Classification:
        if self._model is None:
            return self.rules.classify(text, location)
        place = self.rules.place(text, location)
        scenarios, types = self._model.predict(text)
        label, confidence = scenarios[0]
        if label == NONE:
            return _undispatched("consult", False, place, confidence)
        category, scenario_code = label.split(".", 1)
        scenario = self._profile.categories[category].scenarios[scenario_code]
        # A message routed to an owner is never a pure question.
        rtype = next(t for t, _ in types if t != "consult")
        if scenario.urgent:
            rtype = "urgent"
        return Classification(
            category=category,
            scenario=scenario_code,
            owner=scenario.owner,
            type=rtype,
            urgent=rtype == "urgent",
            district=place.district,
            street=place.street,
            location=place.location,
            confidence=round(confidence, 3),
        )
