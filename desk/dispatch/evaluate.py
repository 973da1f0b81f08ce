"""`make eval`: how well the dispatcher routes the city's held-out messages.

Trains on train_*.yml only, then prints per-scenario precision/recall, the noise
confusion matrix, owner / scenario / type accuracy, the manual-dispatch rate at the
profile's threshold and classify latency. The held-out set is never trained on.
Usage: python -m desk.dispatch.evaluate [--profile PATH] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional, Tuple

from sklearn.metrics import classification_report, confusion_matrix

from desk.city.profile import DEFAULT_PROFILE_PATH, CityProfile, load_profile
from desk.dispatch.classifier import Classification, Dispatcher
from desk.dispatch.dataset import NONE, Example, load_examples
from desk.dispatch.model import DispatchModel
from desk.dispatch.training import data_dir_for


def owner_of(label: str, profile: CityProfile) -> Optional[str]:
    if label == NONE:
        return None
    category, scenario = label.split(".", 1)
    found = profile.scenario(category, scenario)
    return found.owner if found else None


def label_of(result: Classification) -> str:
    return f"{result.category}.{result.scenario}" if result.scenario else NONE


def evaluate(profile: CityProfile, data_dir: Path) -> Tuple[dict, str]:
    train = load_examples(data_dir, "train_*.yml", profile)
    heldout = load_examples(data_dir, "heldout_*.yml", profile)
    if not train or not heldout:
        raise SystemExit(f"no train_*.yml or heldout_*.yml under {data_dir}")
    started = time.monotonic()
    dispatcher = Dispatcher(profile, DispatchModel(profile).fit(train))
    train_s = time.monotonic() - started
    results, latencies = [], []
    for example in heldout:
        t0 = time.perf_counter()
        results.append(dispatcher.classify(example.text))
        latencies.append((time.perf_counter() - t0) * 1000)
    return _metrics(profile, train, heldout, results, latencies, train_s), _report(profile, heldout, results)


def _metrics(
    profile: CityProfile,
    train: List[Example],
    heldout: List[Example],
    results: List[Classification],
    latencies: List[float],
    train_s: float,
) -> dict:
    n = len(heldout)
    owner_ok = sum(owner_of(e.label, profile) == r.owner for e, r in zip(heldout, results, strict=True))
    label_ok = sum(e.label == label_of(r) for e, r in zip(heldout, results, strict=True))
    type_ok = sum(e.type == r.type for e, r in zip(heldout, results, strict=True))
    none_total = sum(e.label == NONE for e in heldout)
    none_dispatched = sum(
        e.label == NONE and r.owner is not None for e, r in zip(heldout, results, strict=True)
    )
    confident = [
        (e, r) for e, r in zip(heldout, results, strict=True) if r.confidence >= profile.dispatch_threshold
    ]
    confident_ok = sum(owner_of(e.label, profile) == r.owner for e, r in confident)
    latencies.sort()
    return {
        "train_examples": len(train),
        "heldout_examples": n,
        "train_seconds": round(train_s, 1),
        "owner_accuracy": owner_ok / n,
        "scenario_accuracy": label_ok / n,
        "type_accuracy": type_ok / n,
        "questions_dispatched": f"{none_dispatched}/{none_total}",
        "manual_dispatch_rate": 1 - len(confident) / n,
        "owner_accuracy_when_confident": confident_ok / max(1, len(confident)),
        "classify_ms_p50": statistics.median(latencies),
        "classify_ms_p95": latencies[int(0.95 * (len(latencies) - 1))],
    }


def _report(profile: CityProfile, heldout: List[Example], results: List[Classification]) -> str:
    truth = [e.label for e in heldout]
    predicted = [label_of(r) for r in results]
    lines = ["Per scenario (held-out):", classification_report(truth, predicted, zero_division=0, digits=3)]
    noise = sorted({t for t in truth if t.startswith("noise.")})
    rows = [(t, p) for t, p in zip(truth, predicted, strict=True) if t in noise]
    if rows:
        columns = noise + ["other"]
        matrix = confusion_matrix(
            [t for t, _ in rows], [p if p in noise else "other" for _, p in rows], labels=columns
        )
        short = [c.replace("noise.", "").replace("construction_", "build_")[:10] for c in columns]
        lines.append("Noise confusion matrix (rows: truth, columns: predicted):")
        lines.append(" " * 20 + "".join(f"{c:>11}" for c in short))
        for name, row in zip(short[:-1], matrix[:-1], strict=True):
            lines.append(f"{name:>20}" + "".join(f"{v:>11}" for v in row))
    mistakes = Counter(
        (e.label, label_of(r)) for e, r in zip(heldout, results, strict=True) if e.label != label_of(r)
    )
    lines.append("Most frequent confusions (truth -> predicted):")
    lines += [f"  {n:>3}  {t} -> {p}" for (t, p), n in mistakes.most_common(12)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE_PATH)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    metrics, report = evaluate(profile, args.data_dir or data_dir_for(args.profile))
    print(report)
    print("\nDispatch summary:")
    for key, value in metrics.items():
        print(f"  {key:<32} {value:.3f}" if isinstance(value, float) else f"  {key:<32} {value}")


if __name__ == "__main__":
    main()
