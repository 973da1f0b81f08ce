"""Voice activity detection (WebRTC VAD): splitting long audio and endpointing streams."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import webrtcvad

from .audio import to_pcm16

FRAME_MS = 30


@dataclass(frozen=True)
class Segment:
    """A stretch of speech: samples at the stream's rate and where it lies in seconds."""

    samples: np.ndarray
    start_s: float
    end_s: float


def frame_flags(samples: np.ndarray, rate: int, aggressiveness: int) -> list[bool]:
    """Speech / non-speech decision for each 30 ms frame."""
    vad = webrtcvad.Vad(aggressiveness)
    size = rate * FRAME_MS // 1000
    pcm = to_pcm16(samples)
    return [
        vad.is_speech(pcm[i * 2 : (i + size) * 2], rate)
        for i in range(0, len(samples) - size + 1, size)
    ]


def split_long_audio(
    samples: np.ndarray,
    rate: int,
    max_segment_s: float,
    aggressiveness: int = 2,
    min_silence_ms: int = 300,
) -> list[Segment]:
    """Cuts audio into segments no longer than ``max_segment_s`` at pauses.

    Audio that fits in one segment is returned whole (Whisper handles its own leading
    and trailing silence better than a hard cut). Longer audio is cut in the middle of
    the longest pause before the limit; a pause-free stretch is cut at the limit.
    """
    total_s = len(samples) / rate
    if total_s <= max_segment_s:
        return [Segment(samples, 0.0, total_s)]
    flags = frame_flags(samples, rate, aggressiveness)
    frame = rate * FRAME_MS // 1000
    max_frames = int(max_segment_s * 1000 / FRAME_MS)
    min_pause = max(1, min_silence_ms // FRAME_MS)
    cuts = [0]
    while len(flags) - cuts[-1] > max_frames:
        start = cuts[-1]
        cuts.append(_best_cut(flags, start, start + max_frames, min_pause))
    cuts.append(len(flags) + 1)
    segments = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if not any(flags[a:b]):
            continue  # pure silence between cuts
        chunk = samples[a * frame : b * frame] if b <= len(flags) else samples[a * frame :]
        segments.append(Segment(chunk, a * frame / rate, (a * frame + len(chunk)) / rate))
    return segments


def _best_cut(flags: list[bool], start: int, limit: int, min_pause: int) -> int:
    """Frame index in (start, limit] at the middle of the longest pause, else ``limit``."""
    best, best_len, run = limit, 0, 0
    for i in range(start + 1, limit):
        run = run + 1 if not flags[i] else 0
        if run >= min_pause and run > best_len:
            best_len, best = run, i - run // 2
    return best


@dataclass
class Endpointer:
    """Turns a stream of PCM frames into utterances, cut after a pause.

    Feed 16-bit PCM of any length with :meth:`feed`; it yields each utterance once
    ``silence_ms`` of non-speech follows speech, or when an utterance reaches
    ``max_utterance_s``. :meth:`flush` returns what is left at the end of the call.
    """

    rate: int
    aggressiveness: int = 2
    silence_ms: int = 600
    max_utterance_s: float = 20.0
    padding_ms: int = 240
    _vad: webrtcvad.Vad = field(init=False)
    _pending: bytes = field(init=False, default=b"")
    _frames: list[bytes] = field(init=False, default_factory=list)
    _preroll: list[bytes] = field(init=False, default_factory=list)
    _silent: int = field(init=False, default=0)
    _voiced: int = field(init=False, default=0)
    _position: int = field(init=False, default=0)
    _start: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.rate not in (8000, 16000, 32000, 48000):
            raise ValueError(f"unsupported stream rate {self.rate}")
        self._vad = webrtcvad.Vad(self.aggressiveness)
        self._frame_bytes = self.rate * FRAME_MS // 1000 * 2

    def feed(self, pcm: bytes) -> Iterator[Segment]:
        """Consumes PCM bytes; yields finished utterances."""
        data = self._pending + pcm
        usable = len(data) - len(data) % self._frame_bytes
        self._pending = data[usable:]
        for i in range(0, usable, self._frame_bytes):
            segment = self._push(data[i : i + self._frame_bytes])
            if segment is not None:
                yield segment

    def flush(self) -> Segment | None:
        """Ends the stream; returns the last utterance if it holds speech."""
        segment = self._emit() if self._voiced else None
        self._reset()
        return segment

    def _push(self, frame: bytes) -> Segment | None:
        self._position += 1
        speech = self._vad.is_speech(frame, self.rate)
        if not self._frames:
            pad_frames = self.padding_ms // FRAME_MS
            self._preroll = (self._preroll + [frame])[-pad_frames:]
            if not speech:
                return None
            self._frames, self._preroll = list(self._preroll), []
            self._start = self._position - len(self._frames)
            self._voiced, self._silent = 1, 0
            return None
        self._frames.append(frame)
        self._voiced += speech
        self._silent = 0 if speech else self._silent + 1
        too_long = len(self._frames) * FRAME_MS >= self.max_utterance_s * 1000
        if self._silent * FRAME_MS >= self.silence_ms or too_long:
            segment = self._emit() if self._voiced >= 3 else None
            self._reset()
            return segment
        return None

    def _emit(self) -> Segment:
        pcm = b"".join(self._frames)
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        start = self._start * FRAME_MS / 1000
        return Segment(samples, start, start + len(samples) / self.rate)

    def _reset(self) -> None:
        self._frames, self._voiced, self._silent = [], 0, 0
