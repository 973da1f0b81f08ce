"""The NLU data generated from the dispatcher's messages is up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_nlu_data_matches_the_dispatch_data():
    result = subprocess.run(
        [sys.executable, "scripts/sync_nlu.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
