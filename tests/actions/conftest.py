"""Action tests: real rasa-sdk Trackers and dispatchers against a real desk app."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, Optional

import pytest
import yaml
from aiohttp.test_utils import TestServer
from rasa_sdk import Tracker

from actions.desk_client import DeskClient
from desk.app import create_app
from desk.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SLOTS = (
    "description",
    "location",
    "district",
    "street",
    "occurred_at",
    "phone",
    "confirmed",
    "ticket_id",
    "kb_doc",
    "handoff_state",
    "kb_unanswered",
)


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
async def desk(tmp_path: Path) -> Iterable[DeskClient]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'desk.db'}"))
    server = TestServer(app)
    await server.start_server()
    yield DeskClient(str(server.make_url("")), attempts=1)
    await server.close()


def make_tracker(
    text: str,
    intent: str,
    requested_slot: Optional[str] = None,
    sender_id: str = "citizen-1",
    events: Optional[list] = None,
    **slots: Any,
) -> Tracker:
    values = {name: None for name in SLOTS}
    values.update(slots)
    values["requested_slot"] = requested_slot
    return Tracker(
        sender_id=sender_id,
        slots=values,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": "complaint_form"} if requested_slot else {},
        latest_action_name="action_listen",
    )


def slot_events(events: list) -> Dict[str, Any]:
    """The slot values the action set, last write wins."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
