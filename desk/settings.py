"""desk settings, read from the environment and validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import BaseSettings, Field, validator

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Environment variables: DESK_HOST, DESK_PORT, DATABASE_URL, CITY_PROFILE, ..."""

    host: str = Field("127.0.0.1", env="DESK_HOST")
    port: int = Field(8000, env="DESK_PORT", ge=1, le=65535)
    database_url: str = Field(f"sqlite:///{ROOT / 'var' / 'desk.db'}", env="DATABASE_URL")
    city_profile: Optional[Path] = Field(None, env="CITY_PROFILE")
    max_body_bytes: int = Field(1_000_000, env="DESK_MAX_BODY_BYTES", gt=0)

    @validator("database_url")
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg2:")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    class Config:
        case_sensitive = False
