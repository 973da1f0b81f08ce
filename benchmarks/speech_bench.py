"""Speech service benchmark: real-time factor and latency of both Whisper backends.

    python benchmarks/speech_bench.py [--utterances 10] [--url http://127.0.0.1:8010]

Runs under speech/.venv (it re-executes itself there when started from another
environment). For each backend (SpeechBrain ``WhisperASR`` and faster-whisper on the same
weights) it loads the model once and transcribes the first N sentences of the synthetic
set at 16 kHz and at 8 kHz (telephone), printing load time, per-utterance latency
(p50 / p95) and RTF side by side. With ``--url`` it also measures end-to-end HTTP latency
of a running service, one request at a time and as a burst of four.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEECH_DIR = REPO / "speech"
SPEECH_PYTHON = SPEECH_DIR / ".venv" / "bin" / "python"

# Checked without importing: torch and CTranslate2 must not start their OpenMP pools
# before load_transcriber sets OMP_WAIT_POLICY (spinning threads distort the figures).
if importlib.util.find_spec("speechbrain") is None or importlib.util.find_spec(
    "faster_whisper"
) is None:
    if not SPEECH_PYTHON.exists():
        sys.exit("speech/.venv is missing: run speech/setup.sh first")
    os.execv(str(SPEECH_PYTHON), [str(SPEECH_PYTHON), *sys.argv])

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, str(SPEECH_DIR))

from rexian_speech.asr import load_transcriber  # noqa: E402
from rexian_speech.audio import decode, to_model_rate  # noqa: E402
from rexian_speech.settings import SpeechSettings  # noqa: E402
from rexian_speech.synthetic import build, load_sentences  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_backend(backend: str, clips: dict[str, list]) -> None:
    started = time.perf_counter()
    transcriber = load_transcriber(SpeechSettings(backend=backend))
    load_s = time.perf_counter() - started
    for label, audios in clips.items():
        latencies, audio_s = [], 0.0
        for audio in audios:
            t0 = time.perf_counter()
            transcriber.transcribe(audio.samples)
            latencies.append(time.perf_counter() - t0)
            audio_s += audio.duration_s
        print(f"{backend:<16}{label:<8}{load_s:>8.1f}{statistics.median(latencies):>9.2f}"
              f"{percentile(latencies, 0.95):>9.2f}{sum(latencies) / audio_s:>8.3f}",
              flush=True)


async def bench_http(url: str, bodies: list[bytes]) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async def one(body: bytes) -> float:
            t0 = time.perf_counter()
            async with http.post(f"{url}/transcribe", data=body) as resp:
                await resp.read()
                resp.raise_for_status()
            return time.perf_counter() - t0

        serial = [await one(b) for b in bodies]
        t0 = time.perf_counter()
        burst = await asyncio.gather(*(one(b) for b in bodies[:4]))
        wall = time.perf_counter() - t0
    print(f"HTTP {url}: serial p50 {statistics.median(serial):.2f}s "
          f"p95 {percentile(serial, 0.95):.2f}s; burst of 4: slowest {max(burst):.2f}s, "
          f"wall {wall:.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--backends", default="speechbrain,faster-whisper")
    parser.add_argument("--url", help="also benchmark a running service over HTTP")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="speech-bench-"))
    manifest = build(folder, load_sentences()[: args.utterances], ("wav", "pcm8k"))
    clips = {
        "16k": [to_model_rate(decode((folder / m["files"]["wav"]).read_bytes()))
                for m in manifest],
        "8k": [to_model_rate(decode((folder / m["files"]["pcm8k"]).read_bytes(), 8000))
               for m in manifest],
    }
    total = sum(a.duration_s for a in clips["16k"])
    print(f"{len(manifest)} utterances, {total:.0f} s of audio, "
          f"SPEECH_THREADS={os.environ.get('SPEECH_THREADS', '2')}, cpus={os.cpu_count()}")
    print(f"{'backend':<16}{'audio':<8}{'load_s':>8}{'p50_s':>9}{'p95_s':>9}{'RTF':>8}")
    for backend in args.backends.split(","):
        bench_backend(backend, clips)
    if args.url:
        asyncio.run(bench_http(args.url, [(folder / m["files"]["wav"]).read_bytes()
                                          for m in manifest]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
