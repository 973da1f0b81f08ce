"""Finds where a request happens: the street/town and district of the city profile,
plus the address as the citizen wrote it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from desk.city.profile import CityProfile

# Place words that end a Chinese address fragment ("幸福路", "阳光小区", "人民公园").
_PLACE_SUFFIX = (
    "大道|路|街|巷|弄|胡同|小区|花园|公寓|家园|广场|公园|市场|大厦|商场|商城|中心|"
    "村|社区|苑|府|院|学校|小学|中学|医院|车站|站|码头|景区|酒店|宾馆"
)
# Optional detail after the place ("88号", "3栋2单元", "东门口").
_DETAIL = r"(?:[0-9零一二三四五六七八九十百]+(?:号楼|号|栋|幢|单元|楼|层|室|弄))*(?:[东西南北]?门口|[东西南北]门|路口|附近|旁边|对面|门前|楼下)?"
_PLACE_RE = re.compile(rf"([\u4e00-\u9fa5A-Za-z0-9]{{2,14}}?(?:{_PLACE_SUFFIX}){_DETAIL})")
# Words that make a place vague rather than an address ("我们小区", "这个市场").
_DETAIL_RE = re.compile(_DETAIL)
_VAGUE_PREFIX = re.compile(
    r"^(?:我们|我家|咱们|他们|你们|这个|那个|这里|那里|附近|旁边|本|该|这|那|在|的|有个|有)+"
)
_CLAUSE_END = re.compile(r"[，,。.！!？?；;、\s]")
_NAME_JOINERS = ("、", "，", ",", " ")


@dataclass(frozen=True)
class Place:
    district: Optional[str]
    street: Optional[str]
    location: Optional[str]


class LocationResolver:
    """Resolves district and street from free text using the profile's gazetteer."""

    def __init__(self, profile: CityProfile) -> None:
        self._profile = profile
        # Longest names first so "滨海镇" wins over a shorter overlapping name.
        self._streets: List[Tuple[str, str]] = sorted(
            ((street, district) for district, streets in profile.districts.items() for street in streets),
            key=lambda item: -len(item[0]),
        )
        self._districts = sorted(profile.districts, key=len, reverse=True)

    def resolve(self, text: str) -> Place:
        """Returns the place named in ``text``; fields are None when not found."""
        text = text or ""
        street, street_at = self._find_street(text)
        district_at = -1
        district: Optional[str] = self._profile.district_of_street(street) if street else None
        if district is None:
            district, district_at = self._find_district(text)
        else:
            _, district_at = self._find_named(text, [district])
        starts = [pos for pos in (street_at, district_at) if pos >= 0]
        location: Optional[str]
        if starts:
            location = self._address_from(text, min(starts), [district, street])
        else:
            location = self._find_address(text)
        return Place(district=district, street=street, location=location)

    def _find_street(self, text: str) -> Tuple[Optional[str], int]:
        for street, _ in self._streets:
            pos = text.find(street)
            if pos >= 0:
                return street, pos
        return None, -1

    def _find_district(self, text: str) -> Tuple[Optional[str], int]:
        return self._find_named(text, self._districts)

    @staticmethod
    def _find_named(text: str, names: List[str]) -> Tuple[Optional[str], int]:
        for name in names:
            pos = text.find(name)
            if pos >= 0:
                return name, pos
        return None, -1

    @staticmethod
    def _address_from(text: str, start: int, names: List[Optional[str]]) -> str:
        """The address that starts with a district or street name: the names, then
        any place names and details that follow ("城东区东湖街道幸福小区3栋门口")."""
        end = start
        for name in names:
            if not name:
                continue
            if end > start and text[end : end + 1] in _NAME_JOINERS and text.startswith(name, end + 1):
                end += 1  # "城东区、东湖街道…": a spoken pause Whisper wrote as a comma
            if text.startswith(name, end):
                end += len(name)
        while True:
            match = _PLACE_RE.match(text, end)
            if not match or _CLAUSE_END.search(match.group(1)):
                break
            end = match.end()
        tail = _DETAIL_RE.match(text, end)
        return text[start : tail.end() if tail else end][:200]

    @staticmethod
    def _find_address(text: str) -> Optional[str]:
        for match in _PLACE_RE.finditer(text):
            place = _VAGUE_PREFIX.sub("", match.group(1))
            core = re.split(_PLACE_SUFFIX, place)[0]
            if len(core) >= 2:
                return place
        return None
