"""`make run` starts Rasa on the model an admin promoted, unless the files changed since."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from desk.admin.registry import ModelRegistry
from desk.db import make_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from run_stack import promoted_model  # noqa: E402


def test_a_promotion_survives_a_restart_until_the_files_change(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    engine = make_engine(url)
    migrate(engine)
    registry = ModelRegistry(engine)
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT))
    built = tmp_path / "rexian-built.tar.gz"
    built.write_bytes(b"model")
    assert promoted_model(env, built) is None  # nothing promoted yet

    older = tmp_path / "rexian-older.tar.gz"
    older.write_bytes(b"model")
    registry.create("rexian-older", older, "full", None, "admin", {}, status="trained")
    time.sleep(0.05)
    registry.mark_active("rexian-older")  # a rollback to an older model, after the build
    assert promoted_model(env, built) == older

    time.sleep(1.1)
    built.write_bytes(b"model built from changed files")  # newer than the promotion
    assert promoted_model(env, built) is None
    engine.dispose()
