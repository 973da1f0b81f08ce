"""Runs desk: `python -m desk` (settings from the environment, see desk/settings.py)."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from desk.app import create_app
from desk.city.profile import ProfileError
from desk.settings import Settings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings()  # type: ignore[call-arg]  # values come from the environment
        app = create_app(settings)
    except (ProfileError, ValidationError) as exc:
        logging.getLogger("desk").error("desk.startup.failed %s", exc)
        return 2
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
