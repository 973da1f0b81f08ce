"""Trains the Rasa model only when the data or config changed.

The model is named by a hash of everything training reads (config, domain, rules,
stories, NLU data and the Rasa version), so `make run` and `make test` reuse it.
Usage: python scripts/model.py [--print-path]
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
TRAINING_INPUTS = ["config.yml", "bot/domain.yml", "bot/data", "nlu_data"]
# How `rasa train` and `rasa data validate` are told where the training inputs are.
TRAINING_DATA_ARGS = [
    "--config",
    "config.yml",
    "--domain",
    "bot/domain.yml",
    "--data",
    "nlu_data",
    "bot/data",
]


def training_hash() -> str:
    digest = hashlib.sha256()
    from rasa.version import __version__ as rasa_version

    digest.update(rasa_version.encode())
    for name in TRAINING_INPUTS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"rexian-{training_hash()}.tar.gz"


def ensure_model() -> Path:
    path = model_path()
    if path.exists():
        print(f"[model] up to date: {path.relative_to(ROOT)}", flush=True)
        return path
    print("[model] data or config changed: training (a few minutes on 2 cores)", flush=True)
    command = [
        str(Path(sys.executable).with_name("rasa")),
        "train",
        *TRAINING_DATA_ARGS,
        "--out",
        "models",
        "--fixed-model-name",
        path.name[: -len(".tar.gz")],
    ]
    subprocess.run(command, cwd=ROOT, check=True)
    return path


if __name__ == "__main__":
    if "--print-path" in sys.argv:
        print(model_path())
    else:
        ensure_model()
