"""Decoding uploaded audio (WAV, MP3, AMR, SILK, raw PCM) to 16 kHz mono float32."""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly

from .errors import AudioTooLong, BadParameter, CorruptAudio, EmptyAudio, UnsupportedAudio

MODEL_RATE = 16000
PCM_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
SILK_MAGIC = b"#!SILK_V3"
AMR_MAGICS = (b"#!AMR\n", b"#!AMR-WB\n")


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


def sniff_format(data: bytes) -> str | None:
    """Names the container of ``data`` from its first bytes, or ``None``."""
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(SILK_MAGIC) or head[1:].startswith(SILK_MAGIC):
        return "silk"  # WeChat voice prefixes the standard header with 0x02
    if any(head.startswith(m) for m in AMR_MAGICS):
        return "amr"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] in (b"OggS", b"fLaC"):
        return "ogg" if head[:4] == b"OggS" else "flac"
    return None


def decode(data: bytes, pcm_rate: int | None = None, max_duration_s: float | None = None) -> Audio:
    """Decodes an upload; ``pcm_rate`` marks the body as raw 16-bit little-endian PCM.

    Compressed formats stop decoding once ``max_duration_s`` is passed, so a small file
    of very low bit rate cannot expand into gigabytes of samples.

    Raises:
        EmptyAudio, UnsupportedAudio, CorruptAudio, BadParameter, AudioTooLong.
    """
    if not data:
        raise EmptyAudio()
    if pcm_rate is not None:
        audio = decode_pcm(data, pcm_rate)
    else:
        kind = sniff_format(data)
        if kind is None:
            raise UnsupportedAudio()
        try:
            audio = _DECODERS[kind](data, max_duration_s)
        except (EmptyAudio, UnsupportedAudio, CorruptAudio, AudioTooLong):
            raise
        except Exception as exc:  # decoders raise many unrelated types on bad input
            raise CorruptAudio(format=kind, reason=type(exc).__name__) from exc
    if audio.samples.size == 0:
        raise EmptyAudio()
    if max_duration_s is not None and audio.duration_s > max_duration_s:
        raise AudioTooLong(f"音频时长超出上限（{max_duration_s:.0f} 秒）")
    if not np.all(np.isfinite(audio.samples)):
        raise CorruptAudio()
    return audio


def decode_pcm(data: bytes, rate: int) -> Audio:
    """Raw signed 16-bit little-endian mono PCM."""
    if rate not in PCM_RATES:
        raise BadParameter(f"不支持的采样率 {rate}，可选：{', '.join(map(str, PCM_RATES))}")
    if len(data) % 2:
        raise CorruptAudio("PCM 数据长度不是 16 位采样的整数倍")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return Audio(samples, rate)


def _decode_wav(data: bytes, max_duration_s: float | None) -> Audio:
    import soundfile

    info = soundfile.info(io.BytesIO(data))
    if max_duration_s is not None and info.frames > max_duration_s * info.samplerate:
        raise AudioTooLong(f"音频时长超出上限（{max_duration_s:.0f} 秒）")
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return Audio(samples.mean(axis=1), int(rate))


def _decode_av(data: bytes, max_duration_s: float | None) -> Audio:
    """MP3, AMR-NB/WB, Ogg/Opus and FLAC through FFmpeg (PyAV)."""
    import av

    chunks: list[np.ndarray] = []
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            raise UnsupportedAudio()
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
        rate = stream.rate
        limit = max_duration_s * rate if max_duration_s is not None else None
        decoded = 0
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                decoded += len(chunks[-1])
            if limit is not None and decoded > limit:
                raise AudioTooLong(f"音频时长超出上限（{max_duration_s:.0f} 秒）")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        raise EmptyAudio()
    return Audio(np.concatenate(chunks).astype(np.float32), int(rate))


def check_silk_frames(data: bytes) -> None:
    """Walks the SILK frame list (uint16 length + payload) before handing it to pilk.

    pilk decodes whatever it is given; a frame that claims more bytes than are left means
    the upload is truncated or not SILK at all.
    """
    offset = data.index(SILK_MAGIC) + len(SILK_MAGIC)
    frames = 0
    while offset + 2 <= len(data):
        size = int.from_bytes(data[offset : offset + 2], "little")
        if size == 0xFFFF and offset + 2 == len(data):
            break  # some encoders end the stream with 0xFFFF
        if size == 0 or offset + 2 + size > len(data):
            raise CorruptAudio(format="silk")
        offset += 2 + size
        frames += 1
    if frames == 0:
        raise EmptyAudio()


def _decode_silk(data: bytes, max_duration_s: float | None) -> Audio:
    """WeChat / QQ SILK v3 voice messages, decoded by pilk at 16 kHz."""
    import pilk

    check_silk_frames(data)

    with tempfile.TemporaryDirectory(prefix="silk-") as tmp:
        src, dst = os.path.join(tmp, "in.silk"), os.path.join(tmp, "out.pcm")
        with open(src, "wb") as handle:
            handle.write(data)
        pilk.decode(src, dst, pcm_rate=MODEL_RATE)
        with open(dst, "rb") as handle:
            pcm = handle.read()
    return decode_pcm(pcm, MODEL_RATE)


_DECODERS = {
    "wav": _decode_wav,
    "mp3": _decode_av,
    "amr": _decode_av,
    "ogg": _decode_av,
    "flac": _decode_av,
    "silk": _decode_silk,
}


def to_model_rate(audio: Audio) -> Audio:
    """Resamples to the model's 16 kHz with a polyphase filter."""
    if audio.rate == MODEL_RATE:
        return audio
    gcd = np.gcd(audio.rate, MODEL_RATE)
    samples = resample_poly(audio.samples, MODEL_RATE // gcd, audio.rate // gcd)
    return Audio(samples.astype(np.float32), MODEL_RATE)


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples to 16-bit little-endian PCM bytes (clipped)."""
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
