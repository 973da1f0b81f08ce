"""Rule-based dispatcher: text -> category, scenario, owner, request type, urgency.

The rules are the profile's own keywords and cue words, so a city changes its
dispatch by editing its profile, not this code.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

from desk.city.profile import CityProfile
from desk.dispatch.location import LocationResolver


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


def keyword_weight(keyword: str, text: str) -> int:
    """Weight of ``keyword`` in ``text``: 0 when absent; combos ("a+b") weigh more."""
    parts = [p for p in keyword.split("+") if p]
    if not parts or not all(p in text for p in parts):
        return 0
    return sum(len(p) for p in parts) + (len(parts) - 1) * 2


class KeywordClassifier:
    """Scores every scenario of the responsibility matrix by its keywords."""

    def __init__(self, profile: CityProfile) -> None:
        self._profile = profile
        self._locations = LocationResolver(profile)

    def classify(self, text: str, location: Optional[str] = None) -> Classification:
        """Classifies ``text``; a pure question gets no category, scenario or owner."""
        text = text or ""
        place = self._locations.resolve(location or text)
        ranked = self._rank(text)
        scenario = None
        if ranked:
            _, category, scenario_code = ranked[0]
            scenario = self._profile.categories[category].scenarios[scenario_code]
        urgent = bool(scenario and scenario.urgent) or self._has_urgent_cue(text)
        rtype = "urgent" if urgent else self._request_type(text, scenario is not None)
        if scenario is None or rtype == "consult":
            return Classification(
                category=None,
                scenario=None,
                owner=None,
                type=rtype,
                urgent=urgent,
                district=place.district,
                street=place.street,
                location=place.location or location,
                confidence=0.0 if scenario is None else 0.5,
            )
        runner_up = ranked[1][0] if len(ranked) > 1 else 0
        return Classification(
            category=category,
            scenario=scenario_code,
            owner=scenario.owner,
            type=rtype,
            urgent=urgent,
            district=place.district,
            street=place.street,
            location=place.location or location,
            confidence=round(self._confidence(ranked[0][0], runner_up), 3),
        )

    def _rank(self, text: str) -> List[Tuple[int, str, str]]:
        scores = []
        lowered = text.lower()
        for cat_code, scen_code, scenario in self._profile.scenarios():
            score = sum(keyword_weight(k.lower(), lowered) for k in scenario.keywords)
            if score:
                scores.append((score, cat_code, scen_code))
        # Ties keep the profile's order, which lists the more specific scenario first.
        return sorted(scores, key=lambda item: -item[0])

    @staticmethod
    def _confidence(best: int, runner_up: int) -> float:
        strength = 1 - math.exp(-best / 4)  # how much evidence there is at all
        margin = best / (best + runner_up)  # how clearly it beats the next scenario
        return strength * margin

    def _has_urgent_cue(self, text: str) -> bool:
        urgent = self._profile.request_types.get("urgent")
        return bool(urgent and any(c in text for c in urgent.cues))

    def _request_type(self, text: str, matched: bool) -> str:
        for code in ("report", "suggestion", "help", "complaint", "consult"):
            rtype = self._profile.request_types.get(code)
            if rtype and any(cue in text for cue in rtype.cues):
                return code
        return "complaint" if matched else "consult"
