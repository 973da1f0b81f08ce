#!/usr/bin/env python3
"""A stand-in for the ``rasa`` CLI: ``train`` writes a model file, ``test nlu`` writes predictions.

The model file is JSON: {"wrong": [texts the model gets wrong], "args": [...]}. Training copies
``FAKE_RASA_WRONG`` (texts separated by "|") into it; ``FAKE_RASA_FAIL=1`` makes training fail.
"""

import json
import os
import sys
import time
from pathlib import Path

import yaml


def option(args, name):
    return args[args.index(name) + 1] if name in args else None


def train(args):
    print("Started validating domain and training data", flush=True)
    if os.environ.get("FAKE_RASA_FAIL") == "1":
        print("ValidationError: broken data", flush=True)
        sys.exit(1)
    for pct in (0, 40, 80, 100):
        print(f"Epochs: {pct}%|#####| {pct}/100", end="\r", flush=True)
        time.sleep(0.05)
    print("\nStarting to train component 'MemoizationPolicy'", flush=True)
    out = Path(option(args, "--out")) / f"{option(args, '--fixed-model-name')}.tar.gz"
    wrong = [t for t in os.environ.get("FAKE_RASA_WRONG", "").split("|") if t]
    out.write_text(json.dumps({"wrong": wrong, "args": args}, ensure_ascii=False), encoding="utf-8")
    print(f"Your Rasa model is trained and saved at '{out}'.", flush=True)


def test_nlu(args):
    model = json.loads(Path(option(args, "--model")).read_text(encoding="utf-8"))
    data = yaml.safe_load(Path(option(args, "--nlu")).read_text(encoding="utf-8"))
    out = Path(option(args, "--out"))
    out.mkdir(parents=True, exist_ok=True)
    successes, errors = [], []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            text = line.strip()[2:]
            wrong = text in model["wrong"]
            predicted = (
                ("greet" if block["intent"] == "complain" else "complain") if wrong else block["intent"]
            )
            item = {
                "text": text,
                "intent": block["intent"],
                "intent_prediction": {"name": predicted, "confidence": 0.9},
            }
            (errors if wrong else successes).append(item)
    (out / "intent_successes.json").write_text(json.dumps(successes, ensure_ascii=False), encoding="utf-8")
    (out / "intent_errors.json").write_text(json.dumps(errors, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["train"]:
        train(argv)
    elif argv[:2] == ["test", "nlu"]:
        test_nlu(argv)
    else:
        sys.exit(f"fake rasa: unsupported {argv}")
