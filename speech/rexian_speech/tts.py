"""Offline Mandarin speech synthesis with espeak-ng reading pinyin.

espeak-ng (GPL-3.0) is called as a separate program, never linked. Its Mandarin is
robotic but intelligible enough for voice replies on a phone line and for the synthetic
test and evaluation sets; Debian's build has no Hanzi dictionary, so text is converted to
numbered pinyin with pypinyin first and read with the ``cmn-latn-pinyin`` voice.

``python -m rexian_speech.tts "文本" out.wav`` writes one WAV file.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys

import numpy as np
import soundfile
from pypinyin import Style, lazy_pinyin

from .audio import Audio, to_model_rate

VOICE = "cmn-latn-pinyin"
DIGITS = "零一二三四五六七八九"


class SynthesisUnavailable(RuntimeError):
    """espeak-ng is not installed."""


def available() -> bool:
    return shutil.which("espeak-ng") is not None


def to_pinyin(text: str) -> str:
    """Numbered pinyin, digits read one by one (``12345`` -> yi1 er4 san1 si4 wu3)."""
    text = re.sub(r"\d", lambda m: DIGITS[int(m.group(0))], text)
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True,
                            errors=lambda chars: [c for c in chars if c in "，。？！,.?! "])
    spoken = " ".join(s for s in syllables if s.strip())
    return re.sub(r"[，。？！]", ", ", spoken)


def synthesize(text: str, rate: int = 16000, speed: int = 165) -> np.ndarray:
    """Float32 mono samples of ``text`` spoken at ``rate`` Hz."""
    if not available():
        raise SynthesisUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    result = subprocess.run(
        ["espeak-ng", "-v", VOICE, "-s", str(speed), "--stdout", to_pinyin(text)],
        capture_output=True, check=True, timeout=60,
    )
    samples, native = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    audio = to_model_rate(Audio(samples, int(native)))
    if rate != audio.rate:
        from scipy.signal import resample_poly

        g = np.gcd(rate, audio.rate)
        return resample_poly(audio.samples, rate // g, audio.rate // g).astype(np.float32)
    return audio.samples


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m rexian_speech.tts TEXT OUT.wav", file=sys.stderr)
        return 2
    soundfile.write(argv[1], synthesize(argv[0]), 16000, subtype="PCM_16")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
