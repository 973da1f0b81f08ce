"""``python -m rexian_speech``: serve on ``SPEECH_HOST``:``SPEECH_PORT`` (default 8010)."""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from .app import run
from .settings import SpeechSettings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        settings = SpeechSettings()
    except ValidationError as exc:
        print(f"invalid speech settings:\n{exc}", file=sys.stderr)
        return 2
    run(settings, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
