"""Character error rate and real-time factor on the project's synthetic hotline set.

    speech/.venv/bin/python speech/evaluate.py [--backend speechbrain|faster-whisper|all]
        [--no-prompt] [--format wav] [--limit N] [--audio-dir DIR]

The set (speech/data/eval_sentences.txt) is spoken offline by espeak-ng, some lines with
added white noise. CER is computed on Chinese characters and digits after the service's
own normalisation of both sides; RTF is model time over audio time, one utterance at a
time, on however many threads ``SPEECH_THREADS`` allows (2 by default).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rexian_speech.asr import load_transcriber  # noqa: E402
from rexian_speech.audio import decode, to_model_rate  # noqa: E402
from rexian_speech.settings import SpeechSettings  # noqa: E402
from rexian_speech.synthetic import build, load_sentences  # noqa: E402
from rexian_speech.textnorm import normalise  # noqa: E402

TARGET_CER = 0.10
TARGET_RTF = 0.3


def comparable(text: str) -> str:
    """Only Chinese characters and digits, after the transcript normalisation."""
    return re.sub(r"[^\u4e00-\u9fff0-9]", "", normalise(text))


def edit_distance(ref: str, hyp: str) -> int:
    row = list(range(len(hyp) + 1))
    for i, rc in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, hc in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (rc != hc))
    return row[-1]


def evaluate(backend: str, prompt: bool, manifest: list[dict], audio_dir: Path, fmt: str,
             verbose: bool) -> dict[str, float]:
    settings = SpeechSettings(backend=backend, use_prompt=prompt)
    started = time.perf_counter()
    transcriber = load_transcriber(settings)
    load_s = time.perf_counter() - started
    errors = chars = 0
    compute = audio_s = 0.0
    for item in manifest:
        data = (audio_dir / item["files"][fmt]).read_bytes()
        audio = to_model_rate(decode(data, 8000 if fmt == "pcm8k" else None))
        t0 = time.perf_counter()
        text = transcriber.transcribe(audio.samples)
        compute += time.perf_counter() - t0
        audio_s += audio.duration_s
        ref, hyp = comparable(item["text"]), comparable(text)
        errors += edit_distance(ref, hyp)
        chars += len(ref)
        if verbose:
            print(f"  {item['id']} ref={ref} hyp={hyp}", flush=True)
    return {"cer": errors / chars, "rtf": compute / audio_s, "load_s": load_s,
            "audio_s": audio_s, "utterances": len(manifest)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="all",
                        choices=["speechbrain", "faster-whisper", "all"])
    parser.add_argument("--no-prompt", action="store_true", help="no domain prompt")
    parser.add_argument("--both-prompts", action="store_true", help="with and without")
    parser.add_argument("--format", default="wav", choices=["wav", "mp3", "amr", "silk",
                                                             "pcm8k"])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--audio-dir", type=Path, help="reuse a built synthetic set")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    backends = ["speechbrain", "faster-whisper"] if args.backend == "all" else [args.backend]
    prompts = [True, False] if args.both_prompts else [not args.no_prompt]
    audio_dir = args.audio_dir or Path(tempfile.mkdtemp(prefix="speech-eval-"))
    manifest_path = audio_dir / "manifest.json"
    if not manifest_path.exists():
        utterances = load_sentences()
        build(audio_dir, utterances[: args.limit] if args.limit else utterances,
              ("wav", args.format) if args.format != "wav" else ("wav",))
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if args.limit:
        manifest = manifest[: args.limit]

    results = []
    print(f"{'backend':<16}{'prompt':<8}{'format':<8}{'CER':>7}{'RTF':>7}{'load_s':>8}")
    for backend in backends:
        for prompt in prompts:
            r = evaluate(backend, prompt, manifest, audio_dir, args.format, args.verbose)
            results.append({"backend": backend, "prompt": prompt, "format": args.format, **r})
            print(f"{backend:<16}{'yes' if prompt else 'no':<8}{args.format:<8}"
                  f"{r['cer']:>7.3f}{r['rtf']:>7.3f}{r['load_s']:>8.1f}", flush=True)
    print(f"targets: CER <= {TARGET_CER}, RTF < {TARGET_RTF}; "
          f"{len(manifest)} utterances, {results[0]['audio_s']:.0f} s of audio")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
