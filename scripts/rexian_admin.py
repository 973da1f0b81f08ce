"""Rexian admin command line: validate, train, evaluate, compare, promote, roll back Rasa models.

A thin wrapper around ``python -m desk.admin`` (see desk/admin/__main__.py) for use from the
repository root: python scripts/rexian_admin.py train --mode auto
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desk.admin.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
