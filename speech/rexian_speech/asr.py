"""Speech recognition models behind one small interface.

``Transcriber.transcribe_segments`` is the batch primitive (like SpeechBrain's
``transcribe_batch``); ``transcribe`` layers VAD splitting and text normalisation over it,
as SpeechBrain's ``transcribe_file`` layers file loading over ``transcribe_batch``.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from .audio import MODEL_RATE
from .hotwords import HotwordCorrector
from .prompt import build_prompt
from .settings import SpeechSettings
from .textnorm import join_segments, normalise
from .vad import frame_flags, split_long_audio

logger = logging.getLogger(__name__)

WHISPER_WINDOW_S = 30.0
# Mandarin is read at up to ~6 characters a second, about 1.5 Whisper tokens each; the cap
# stops greedy decoding from looping on noise without cutting real speech short.
TOKENS_PER_SECOND = 10
MIN_TOKENS = 16
MIN_SPEECH_FRAMES = 5  # 150 ms of voiced audio


def token_budget(duration_s: float, ceiling: int) -> int:
    """How many tokens a segment of ``duration_s`` seconds may produce."""
    return int(min(ceiling, MIN_TOKENS + TOKENS_PER_SECOND * duration_s))


class Transcriber(ABC):
    """A loaded model that turns 16 kHz mono speech into simplified-Chinese text."""

    name = "abstract"
    sample_rate = MODEL_RATE

    def __init__(self, settings: SpeechSettings) -> None:
        self.settings = settings
        self.prompt = self._prompt(settings)
        sources = settings.hotword_sources
        self.hotwords = HotwordCorrector.from_sources(sources) if sources else None

    @staticmethod
    def _prompt(settings: SpeechSettings) -> str | None:
        if not settings.use_prompt:
            return None
        return settings.initial_prompt or build_prompt(settings.city_profile)

    @abstractmethod
    def transcribe_segments(self, segments: list[np.ndarray]) -> list[str]:
        """Raw model text for each segment (each at most 30 s, 16 kHz mono)."""

    def transcribe(self, samples: np.ndarray) -> str:
        """Transcribes audio of any length: VAD-split, decode, normalise.

        Audio in which the VAD hears no speech at all is not decoded: Whisper invents
        text for silence and noise.
        """
        flags = frame_flags(samples, self.sample_rate, self.settings.vad_aggressiveness)
        if sum(flags) < MIN_SPEECH_FRAMES:
            return ""
        segments = split_long_audio(
            samples,
            self.sample_rate,
            max_segment_s=self.settings.max_utterance_s,
            aggressiveness=self.settings.vad_aggressiveness,
        )
        if not segments:
            return ""
        texts = self.transcribe_segments([s.samples for s in segments])
        text = join_segments([normalise(t) for t in texts])
        return self.hotwords.correct(text) if self.hotwords else text

    def warm_up(self) -> None:
        """Runs one tiny decode so the first request does not pay for lazy init."""
        self.transcribe_segments([np.zeros(self.sample_rate // 2, dtype=np.float32)])


class SpeechBrainWhisper(Transcriber):
    """Whisper through SpeechBrain's ``WhisperASR`` inference interface."""

    name = "speechbrain"

    def __init__(self, settings: SpeechSettings) -> None:
        super().__init__(settings)
        import torch
        from speechbrain.inference.ASR import WhisperASR

        torch.set_num_threads(settings.threads)
        self._torch = torch
        self.asr = WhisperASR.from_hparams(
            source=settings.model_source,
            savedir=str(settings.model_savedir),
            run_opts={"device": "cpu"},
        )
        # SpeechBrain 1.1.2 reads `asr.whisper` where it means the module; keep both
        # names pointing at the same object so its prompt handling works as well.
        self.asr.whisper = self.asr.mods.whisper
        if settings.quantize:
            # int8 weights for the linear layers (dynamic quantisation): faster, less accurate.
            torch.ao.quantization.quantize_dynamic(
                self.asr.mods.whisper.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
        if self.prompt:
            self.asr.mods.decoder.set_prompt(self.prompt)

    def transcribe_segments(self, segments: list[np.ndarray]) -> list[str]:
        torch = self._torch
        longest = max(len(s) for s in segments)
        batch = torch.zeros(len(segments), longest)
        for i, seg in enumerate(segments):
            batch[i, : len(seg)] = torch.from_numpy(seg)
        lengths = torch.tensor([len(s) / longest for s in segments])
        decoder = self.asr.mods.decoder
        with torch.no_grad():
            encoder_out = self.asr.encode_batch(batch, lengths)
            budget = token_budget(longest / self.sample_rate, self.settings.max_tokens_per_segment)
            decoder.max_decode_ratio = budget / encoder_out.shape[1]
            tokens, _, _, _ = decoder(encoder_out, torch.ones(len(segments)))
        tokenizer = self.asr.tokenizer
        return [tokenizer.decode(t, skip_special_tokens=True).strip() for t in tokens]


class FasterWhisper(Transcriber):
    """The same Whisper weights through CTranslate2 (faster-whisper), without torch."""

    name = "faster-whisper"

    def __init__(self, settings: SpeechSettings) -> None:
        super().__init__(settings)
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(settings.ct2_model_dir),
            device="cpu",
            compute_type=settings.compute_type,
            cpu_threads=settings.threads,
            local_files_only=True,
        )

    def transcribe_segments(self, segments: list[np.ndarray]) -> list[str]:
        texts = []
        for seg in segments:
            result, _ = self.model.transcribe(
                seg,
                language=self.settings.language,
                beam_size=self.settings.beam_size,
                initial_prompt=self.prompt,
                condition_on_previous_text=False,
                without_timestamps=True,
                temperature=0.0,
                vad_filter=False,
                max_new_tokens=token_budget(
                    len(seg) / self.sample_rate, self.settings.max_tokens_per_segment
                ),
            )
            texts.append("".join(s.text for s in result))
        return texts


BACKENDS: dict[str, type[Transcriber]] = {
    SpeechBrainWhisper.name: SpeechBrainWhisper,
    FasterWhisper.name: FasterWhisper,
}


def load_transcriber(settings: SpeechSettings) -> Transcriber:
    """Loads the configured backend once; no network access is allowed at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # OpenMP threads that spin while waiting starve everything else on a shared 2-core
    # machine (Rasa, desk): measured 5-8x slower decoding under load without this.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if settings.backend == "speechbrain" and Path(settings.model_source).exists():
        Path(settings.model_savedir).mkdir(parents=True, exist_ok=True)
    transcriber = BACKENDS[settings.backend](settings)
    transcriber.warm_up()
    logger.info("speech.model.loaded backend=%s", settings.backend)
    return transcriber
