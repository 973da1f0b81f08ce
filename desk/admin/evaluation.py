"""Evaluates a Rasa model on the held-out sets and compares two models.

One ``rasa test nlu`` run covers both held-out sets: ``tests/nlu/test_nlu.yml`` (intent F1)
and the dispatcher's ``heldout_*.yml`` messages as the bot sees them (routed messages are
``complain``, policy questions ``ask_policy``: the same mapping as scripts/sync_nlu.py), whose
accuracy is the "dispatch accuracy": how often a held-out complaint reaches the complaint flow.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from desk.admin.nlu_data import NluData
from desk.city.profile import CityProfile
from desk.dispatch.dataset import NONE, load_examples

RASA = str(Path(sys.executable).with_name("rasa"))
EVAL_TIMEOUT_S = 900
_CHIT_CHAT = re.compile(r"你好|您好|谢谢|在吗|机器人|测试|哈哈|再见|天气|你是|你们是|早上好|晚上好|辛苦")
_MARKUP = re.compile(r"[\[\]{}()]")
Labelled = List[Tuple[str, str]]  # (text, intent)


class EvaluationFailed(Exception):
    pass


def nlu_test_examples(path: Path) -> Labelled:
    data = NluData(root=path.parent)
    data._read(path)
    return [(e.text, e.intent) for e in data.examples]


def dispatch_test_examples(data_dir: Optional[Path], profile: Optional[CityProfile]) -> Labelled:
    if data_dir is None or profile is None or not data_dir.exists():
        return []
    out: Labelled = []
    for example in load_examples(data_dir, "heldout_*.yml", profile):
        text = " ".join(example.text.split())
        if _MARKUP.search(text):
            continue
        if example.label != NONE:
            out.append((text, "complain"))
        elif not _CHIT_CHAT.search(text):
            out.append((text, "ask_policy"))
    return out


def _write_test_file(path: Path, examples: Labelled) -> None:
    by_intent: Dict[str, List[str]] = {}
    for text, intent in examples:
        by_intent.setdefault(intent, []).append(text)
    blocks = [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in sorted(set(texts)))}
        for intent, texts in sorted(by_intent.items())
    ]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True), encoding="utf-8")


def weighted_f1(pairs: Sequence[Tuple[str, str]]) -> float:
    """Weighted-average F1 of (expected, predicted) pairs, as Rasa's intent report computes it."""
    support = Counter(expected for expected, _ in pairs)
    total = sum(support.values())
    if not total:
        return 0.0
    score = 0.0
    for label, count in support.items():
        tp = sum(1 for e, p in pairs if e == label and p == label)
        predicted = sum(1 for _, p in pairs if p == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / count
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        score += f1 * count / total
    return score


def _run_rasa_test(model: Path, test_file: Path, out: Path) -> Dict[str, str]:
    command = [
        RASA,
        "test",
        "nlu",
        "--model",
        str(model),
        "--nlu",
        str(test_file),
        "--out",
        str(out),
        "--successes",
        "--no-plot",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=EVAL_TIMEOUT_S)
    if result.returncode != 0:
        raise EvaluationFailed(result.stderr[-2000:] or result.stdout[-2000:])
    predictions: Dict[str, str] = {}
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        if path.exists():
            for item in json.loads(path.read_text(encoding="utf-8")):
                predicted = (item.get("intent_prediction") or {}).get("name") or ""
                predictions[item["text"]] = predicted
    return predictions


def evaluate_model(model: Path, nlu_test: Labelled, dispatch_test: Labelled) -> Dict[str, Any]:
    """Runs the model over both held-out sets (blocking: one ``rasa test nlu`` subprocess)."""
    with tempfile.TemporaryDirectory(prefix="rexian-eval-") as tmp:
        test_file = Path(tmp) / "heldout.yml"
        _write_test_file(test_file, nlu_test + dispatch_test)
        predictions = _run_rasa_test(model, test_file, Path(tmp) / "out")
    nlu_pairs = [(intent, predictions.get(text, "")) for text, intent in nlu_test]
    dispatch_pairs = [(intent, predictions.get(text, "")) for text, intent in dispatch_test]
    return {
        "intent_f1": round(weighted_f1(nlu_pairs), 4),
        "intent_accuracy": round(_accuracy(nlu_pairs), 4),
        "dispatch_accuracy": round(_accuracy(dispatch_pairs), 4) if dispatch_pairs else None,
        "nlu_examples": len(nlu_pairs),
        "dispatch_examples": len(dispatch_pairs),
        "predictions": {
            text: [intent, predictions.get(text, "")] for text, intent in nlu_test + dispatch_test
        },
    }


def _accuracy(pairs: Sequence[Tuple[str, str]]) -> float:
    return sum(1 for e, p in pairs if e == p) / len(pairs) if pairs else 0.0


def compare(current: Optional[Dict[str, Any]], candidate: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Side by side figures and the held-out messages whose outcome changed."""
    figures = ("intent_f1", "intent_accuracy", "dispatch_accuracy")
    side = {
        name: {"current": (current or {}).get(name), "candidate": (candidate or {}).get(name)}
        for name in figures
    }
    changed: List[Dict[str, Any]] = []
    old = (current or {}).get("predictions") or {}
    new = (candidate or {}).get("predictions") or {}
    for text in sorted(set(old) & set(new)):
        expected, before = old[text]
        _, after = new[text]
        if before != after:
            outcome = "fixed" if after == expected else "broken" if before == expected else "changed"
            changed.append(
                {"text": text, "expected": expected, "before": before, "after": after, "outcome": outcome}
            )
    return {"figures": side, "changed": changed}


async def evaluate_in_thread(model: Path, nlu_test: Labelled, dispatch_test: Labelled) -> Dict[str, Any]:
    return await asyncio.to_thread(evaluate_model, model, nlu_test, dispatch_test)
