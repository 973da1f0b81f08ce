"""Dispatch examples admins label on the review page, kept beside the city's training data.

``train_reviewed.yml`` in the dispatch data directory has the same shape as the other
``train_*.yml`` files (scenario code -> messages), so the dispatcher learns from it on its
next retrain (``POST /api/dispatch/retrain`` or a desk restart).
"""

from __future__ import annotations

from pathlib import Path

import yaml

REVIEWED_FILE = "train_reviewed.yml"
HEADER = "# Written by desk's admin page (review queue): scenario code -> messages. Safe to edit.\n"


def add_reviewed_example(data_dir: Path, label: str, text: str) -> Path:
    """Adds ``text`` under ``label`` (once); returns the file written."""
    path = data_dir / REVIEWED_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    examples = data if isinstance(data, dict) else {}
    message = text.strip().lstrip("[")  # a leading "[xxx]" would read as a request-type tag
    messages = examples.setdefault(label, [])
    if message and message not in messages:
        messages.append(message)
        messages.sort()
    body = yaml.safe_dump(examples, allow_unicode=True, sort_keys=True, width=1000)
    path.write_text(HEADER + body, encoding="utf-8")
    return path
