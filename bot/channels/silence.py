"""Telling an expected silence from a failed turn.

A turn that produces no bot message usually means something broke (the action server is
down); the citizen must then hear an apology rather than nothing. The exception is a
conversation an operator holds: Rasa has paused it, and the bot must stay silent.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


async def conversation_paused(agent: Any, sender_id: str) -> bool:
    """True when Rasa has the conversation paused (an operator holds it)."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    try:
        tracker = await store.retrieve(sender_id)
    except Exception as exc:  # unknown: an apology is the safer mistake
        log.warning("channel.tracker.unavailable error=%s", type(exc).__name__)
        return False
    return bool(tracker is not None and tracker.is_paused())
