"""A live copy of each citizen message for desk, sent the moment the channel receives it.

The event broker (``bot/broker.py``) delivers every message to desk too, but only after Rasa
has run NLU on it and saved the tracker; under a burst of many conversations that queue is
seconds long. An operator holding a conversation should see the citizen's words at once, so
each channel hands desk a copy first (``user_live`` events, fire-and-forget, same
``message_id`` as the tracker's event so desk shows it once). The transcript itself still
comes from Rasa's tracker; this copy is only a notification.

A turn waits for desk to take the copy (a few ms; at most ``WAIT_S``).

Settings: ``DESK_URL`` (unset: no live copies) and ``DESK_EVENTS_TOKEN``, as for the broker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Awaitable, Callable, Optional, Set

import aiohttp
from rasa.core.channels.channel import UserMessage

log = logging.getLogger(__name__)
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
TIMEOUT_S = 2.0
WAIT_S = 0.3  # the longest a citizen's turn waits for desk to take the copy


class LiveCopy:
    def __init__(self, desk_url: str, token: str = "") -> None:
        self.endpoint = desk_url.rstrip("/") + "/api/rasa/events"
        self.token = token
        self._session: Optional[aiohttp.ClientSession] = None
        self._tasks: Set["asyncio.Task[None]"] = set()

    @classmethod
    def from_environment(cls) -> Optional["LiveCopy"]:
        url = os.environ.get("DESK_URL", "").strip()
        return cls(url, os.environ.get("DESK_EVENTS_TOKEN", "").strip()) if url else None

    def wrap(self, on_new_message: OnNewMessage) -> OnNewMessage:
        """``on_new_message`` that first sends desk its copy of the message."""

        async def handler(message: UserMessage) -> Any:
            # Awaited (briefly) rather than left to a background task: Rasa's NLU blocks the
            # event loop, so under a burst a background copy would wait for every turn ahead.
            await self.send(message)
            return await on_new_message(message)

        return handler

    async def send(self, message: UserMessage) -> None:
        """Posts the copy, waiting at most ``WAIT_S``; a slow desk finishes in the background."""
        if not message.text or not message.sender_id:
            return
        event = {
            "event": "user_live",
            "sender_id": message.sender_id,
            "text": message.text,
            "timestamp": time.time(),
            "message_id": message.message_id,
            "input_channel": message.input_channel,
            "metadata": message.metadata or {},
        }
        task = asyncio.create_task(self._post(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task}, timeout=WAIT_S)

    async def _post(self, event: dict) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self._session.post(
                self.endpoint, json={"events": [event]}, headers=headers
            ) as response:
                if response.status >= 300:
                    log.warning("live_copy.rejected status=%d", response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # the broker still delivers it later
            log.info("live_copy.unreachable error=%s", type(exc).__name__)


_instance: Optional[LiveCopy] = None
_configured = False


def live_copy() -> Optional[LiveCopy]:
    """The process's live-copy sender (None without DESK_URL)."""
    global _instance, _configured
    if not _configured:
        _instance, _configured = LiveCopy.from_environment(), True
    return _instance


def with_live_copy(on_new_message: OnNewMessage) -> OnNewMessage:
    sender = live_copy()
    return sender.wrap(on_new_message) if sender else on_new_message
