"""Service settings, read from ``SPEECH_*`` environment variables and validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SPEECH_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = SPEECH_DIR / ".cache" / "whisper-base"
DEFAULT_PROFILE = SPEECH_DIR.parent / "desk" / "city" / "shifan.yaml"
# The demo city's texts the hot-word correction learns its words from (profile + dispatch data).
DEFAULT_HOTWORD_SOURCES = [
    DEFAULT_PROFILE,
    *sorted((SPEECH_DIR.parent / "desk" / "city" / "shifan" / "dispatch").glob("train_*.yml")),
]


class SpeechSettings(BaseSettings):
    """Everything the speech service can be configured with.

    ``model_source`` is what SpeechBrain's ``WhisperASR.from_hparams`` loads: the local
    offline cache built by ``model_prep`` by default, or a SpeechBrain hub id (for example an
    AISHELL model) where the deployment can reach the hub.
    """

    model_config = SettingsConfigDict(env_prefix="SPEECH_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8010, ge=1, le=65535)
    backend: Literal["speechbrain", "faster-whisper"] = "speechbrain"
    model_source: str = str(DEFAULT_CACHE / "speechbrain")
    model_savedir: Path = DEFAULT_CACHE / "sb_iface"
    ct2_model_dir: Path = DEFAULT_CACHE / "ct2"
    compute_type: str = "int8"
    # SpeechBrain backend: int8 dynamic quantisation of the linear layers. About a quarter
    # faster on CPU but CER 0.075 -> 0.111 on the evaluation set, so off by default.
    quantize: bool = False
    language: str = "zh"
    beam_size: int = Field(1, ge=1, le=10)
    max_tokens_per_segment: int = Field(128, ge=8, le=220)
    city_profile: Path | None = DEFAULT_PROFILE
    initial_prompt: str | None = None
    use_prompt: bool = True
    # Homophone correction with the city's words (see hotwords.py); empty list: off.
    hotword_sources: list[Path] = Field(default_factory=lambda: list(DEFAULT_HOTWORD_SOURCES))
    threads: int = Field(2, ge=1, le=64)
    workers: int = Field(1, ge=1, le=16)
    max_pending: int = Field(8, ge=0, le=1000)
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_duration_s: float = Field(300.0, gt=0)
    vad_aggressiveness: int = Field(2, ge=0, le=3)
    endpoint_silence_ms: int = Field(600, ge=90, le=5000)
    max_utterance_s: float = Field(20.0, gt=1, le=29)
    rasa_url: HttpUrl | None = None
    rasa_webhook: str = Field("/webhooks/voice/webhook", pattern=r"^/webhooks/[a-z_]+/webhook$")
    reply_tts: bool = True

    @model_validator(mode="after")
    def _check_sources(self) -> SpeechSettings:
        if self.backend == "faster-whisper" and not (self.ct2_model_dir / "model.bin").exists():
            raise ValueError(f"SPEECH_CT2_MODEL_DIR has no model.bin: {self.ct2_model_dir}")
        missing = [str(p) for p in self.hotword_sources if not p.exists()]
        if missing:
            raise ValueError(f"SPEECH_HOTWORD_SOURCES do not exist: {', '.join(missing)}")
        if self.city_profile is not None and not self.city_profile.exists():
            raise ValueError(f"SPEECH_CITY_PROFILE does not exist: {self.city_profile}")
        return self
