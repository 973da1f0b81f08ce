"""The project's synthetic speech set: hotline sentences spoken offline, in every format.

``python -m rexian_speech.synthetic OUT_DIR [--sentences FILE] [--formats wav,mp3,...]``
writes one file per sentence and format plus ``manifest.json``; the tests and
``evaluate.py`` use it. Sentences come from ``speech/data/eval_sentences.txt``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from . import tts
from .audio import to_pcm16

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SENTENCES = DATA_DIR / "eval_sentences.txt"
FORMATS = ("wav", "mp3", "amr", "silk", "pcm8k")


@dataclass(frozen=True)
class Utterance:
    """A reference sentence and the white-noise SNR (dB) to mix in, if any."""

    text: str
    noise_snr_db: float | None = None


def load_sentences(path: Path = SENTENCES) -> list[Utterance]:
    utterances = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        text, _, option = line.partition("|")
        snr = float(option.split("=", 1)[1]) if option.startswith("noise=") else None
        utterances.append(Utterance(text.strip(), snr))
    return utterances


def render(utt: Utterance, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Speaks the sentence, with 0.3 s of silence around it and optional noise."""
    speech = tts.synthesize(utt.text, rate=rate)
    pad = np.zeros(int(0.3 * rate), dtype=np.float32)
    samples = np.concatenate([pad, speech, pad])
    if utt.noise_snr_db is not None:
        power = float(np.mean(speech**2))
        noise_power = power / (10 ** (utt.noise_snr_db / 10))
        noise = np.random.default_rng(seed).normal(0, np.sqrt(noise_power), len(samples))
        samples = samples + noise.astype(np.float32)
    return np.clip(samples, -1, 1).astype(np.float32)


def encode(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    """Encodes 16 kHz samples as WAV, MP3, AMR-NB (8 kHz), WeChat SILK or raw 8 kHz PCM."""
    if fmt == "wav":
        buf = io.BytesIO()
        soundfile.write(buf, samples, rate, format="WAV", subtype="PCM_16")
        return buf.getvalue()
    if fmt == "pcm8k":
        from scipy.signal import resample_poly

        return to_pcm16(resample_poly(samples, 1, rate // 8000))
    if fmt == "silk":
        return _encode_silk(samples, rate)
    codec, out_rate = {"mp3": ("libmp3lame", rate), "amr": ("libopencore_amrnb", 8000)}[fmt]
    return _encode_av(samples, rate, fmt, codec, out_rate)


def _encode_av(samples: np.ndarray, rate: int, fmt: str, codec: str, out_rate: int) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=out_rate)
        stream.layout = "mono"
        if fmt == "amr":
            stream.bit_rate = 12200
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1),
            format="s16", layout="mono",
        )
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=out_rate)
        for chunk in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def _encode_silk(samples: np.ndarray, rate: int) -> bytes:
    import pilk

    with tempfile.TemporaryDirectory(prefix="silk-") as tmp:
        src, dst = os.path.join(tmp, "in.pcm"), os.path.join(tmp, "out.silk")
        Path(src).write_bytes(to_pcm16(samples))
        pilk.encode(src, dst, pcm_rate=rate, tencent=True)
        return Path(dst).read_bytes()


def build(out_dir: Path, utterances: list[Utterance], formats: tuple[str, ...]) -> list[dict]:
    """Writes every utterance in every format; returns the manifest entries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for index, utt in enumerate(utterances):
        samples = render(utt, seed=index)
        files = {}
        for fmt in formats:
            name = f"utt{index:02d}.{fmt}"
            (out_dir / name).write_bytes(encode(samples, 16000, fmt))
            files[fmt] = name
        manifest.append({"id": f"utt{index:02d}", "text": utt.text,
                         "noise_snr_db": utt.noise_snr_db,
                         "duration_s": round(len(samples) / 16000, 3), "files": files})
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--limit", type=int, default=0, help="first N sentences only")
    args = parser.parse_args()
    utterances = load_sentences(args.sentences)
    if args.limit:
        utterances = utterances[: args.limit]
    build(args.out_dir, utterances, tuple(args.formats.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
