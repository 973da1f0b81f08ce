"""Request bodies of the ticket API, validated with pydantic."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Extra, constr, validator

from desk.contact import normalize_phone

MAX_DESCRIPTION = 20_000


class TicketIn(BaseModel):
    """What a channel or the action server sends to open a ticket."""

    sender_id: constr(strip_whitespace=True, min_length=1, max_length=128)  # type: ignore[valid-type]
    description: constr(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION)  # type: ignore[valid-type]
    channel: constr(strip_whitespace=True, min_length=1, max_length=32) = "rest"  # type: ignore[valid-type]
    location: Optional[constr(strip_whitespace=True, max_length=500)] = None  # type: ignore[valid-type]
    occurred_at: Optional[constr(strip_whitespace=True, max_length=500)] = None  # type: ignore[valid-type]
    phone: Optional[str] = None
    contact_anonymous: bool = False
    type: Optional[str] = None
    category: Optional[str] = None
    scenario: Optional[str] = None

    class Config:
        extra = Extra.forbid

    @validator("phone")
    def _valid_phone(cls, value: Optional[str]) -> Optional[str]:
        if value is None or not value.strip():
            return None
        phone, reason = normalize_phone(value)
        if phone is None:
            raise ValueError(reason)
        return phone


class ClassifyIn(BaseModel):
    text: constr(strip_whitespace=True, max_length=MAX_DESCRIPTION)  # type: ignore[valid-type]
    location: Optional[constr(strip_whitespace=True, max_length=500)] = None  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid


class TicketUpdate(BaseModel):
    """An operator's change: reassignment (scenario or owner), type, status, a note."""

    scenario: Optional[constr(strip_whitespace=True, regex=r"^[a-z_]+\.[a-z_]+$")] = None  # type: ignore[valid-type]
    owner: Optional[constr(strip_whitespace=True, min_length=1, max_length=32)] = None  # type: ignore[valid-type]
    type: Optional[str] = None
    status: Optional[str] = None
    note: Optional[constr(strip_whitespace=True, max_length=2000)] = None  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid
