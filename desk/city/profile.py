"""The city profile: districts, departments, request types and the responsibility matrix.

Everything city-specific is data in a YAML file; this module validates it once at
start-up so a bad profile fails fast with a message that names the offending entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator

from desk import yamlfiles

DEFAULT_PROFILE_PATH = Path(__file__).with_name("shifan.yaml")


class ProfileError(Exception):
    """The city profile cannot be loaded or is inconsistent."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"invalid city profile {path}: {problem}")
        self.path = path
        self.problem = problem


class CityInfo(BaseModel):
    code: str = Field(..., regex=r"^[a-z][a-z0-9_-]*$")
    name: str
    hotline: str = "12345"
    kind: Optional[str] = None
    ticket_prefix: Optional[str] = Field(None, regex=r"^[A-Z]{1,6}$")
    timezone: str = "Asia/Shanghai"

    @validator("timezone")
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @property
    def prefix(self) -> str:
        return self.ticket_prefix or self.code[:2].upper()


class RequestType(BaseModel):
    name: str
    respond_h: float = Field(..., ge=0)
    resolve_h: float = Field(..., gt=0)
    cues: List[str] = []
    advice: Optional[str] = None  # what the citizen should do right now (urgent requests)


class Scenario(BaseModel):
    name: str
    owner: str
    urgent: bool = False
    keywords: List[str] = []
    advice: Optional[str] = None  # immediate safety step for an emergency in this scenario


class Category(BaseModel):
    name: str
    scenarios: Dict[str, Scenario]

    @validator("scenarios")
    def _not_empty(cls, value: Dict[str, Scenario]) -> Dict[str, Scenario]:
        if not value:
            raise ValueError("a category needs at least one scenario")
        return value


REQUIRED_TYPES = ("consult", "complaint", "urgent")


class CityProfile(BaseModel):
    city: CityInfo
    districts: Dict[str, List[str]]
    departments: Dict[str, str]
    request_types: Dict[str, RequestType]
    categories: Dict[str, Category]
    dispatch_threshold: float = Field(0.35, ge=0, le=1)

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values: dict) -> dict:
        departments = values["departments"]
        for cat_code, scen_code, scenario in _iter_scenarios(values["categories"]):
            if scenario.owner not in departments:
                raise ValueError(
                    f"categories.{cat_code}.scenarios.{scen_code}.owner "
                    f"'{scenario.owner}' is not a department code "
                    f"(known: {', '.join(sorted(departments))})"
                )
        missing = [t for t in REQUIRED_TYPES if t not in values["request_types"]]
        if missing:
            raise ValueError(f"request_types lacks {', '.join(missing)}")
        seen: Dict[str, str] = {}
        for district, streets in values["districts"].items():
            for street in streets:
                if street in seen:
                    raise ValueError(
                        f"street '{street}' is listed under both '{seen[street]}' and '{district}'"
                    )
                seen[street] = district
        return values

    # -- lookups ---------------------------------------------------------------

    def scenarios(self) -> Iterator[Tuple[str, str, Scenario]]:
        """Yields (category code, scenario code, scenario) for the whole matrix."""
        return _iter_scenarios(self.categories)

    def scenario(self, category: str, scenario: str) -> Optional[Scenario]:
        cat = self.categories.get(category)
        return cat.scenarios.get(scenario) if cat else None

    def district_of_street(self, street: str) -> Optional[str]:
        for district, streets in self.districts.items():
            if street in streets:
                return district
        return None

    def advice(self, category: Optional[str], scenario: Optional[str]) -> Optional[str]:
        """The safety step to tell a citizen first in an emergency."""
        found = self.scenario(category or "", scenario or "")
        urgent = self.request_types.get("urgent")
        return (found.advice if found else None) or (urgent.advice if urgent else None)

    def department_name(self, code: Optional[str]) -> Optional[str]:
        return self.departments.get(code) if code else None


def _iter_scenarios(
    categories: Dict[str, Category],
) -> Iterator[Tuple[str, str, Scenario]]:
    for cat_code, category in categories.items():
        for scen_code, scenario in category.scenarios.items():
            yield cat_code, scen_code, scenario


def load_profile(path: Optional[Path] = None) -> CityProfile:
    """Loads and validates a city profile; raises ProfileError with the reason."""
    path = Path(path) if path else DEFAULT_PROFILE_PATH
    try:
        raw = yamlfiles.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(path, "file not found") from None
    except yaml.YAMLError as exc:
        raise ProfileError(path, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ProfileError(path, "the top level must be a mapping")
    try:
        return CityProfile.parse_obj(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != '__root__') or 'profile'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ProfileError(path, problems) from None
