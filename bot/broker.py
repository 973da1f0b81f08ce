"""Rasa event broker that streams conversation events to desk (``POST /api/rasa/events``).

desk needs every citizen message as it happens: an operator who holds a conversation sees
what the citizen writes on any channel, including while Rasa has the conversation paused
(Rasa still logs those messages, it only stops predicting), and the review queue sees what
the bot understood poorly. Configured in endpoints.yml::

    event_broker:
      type: bot.broker.DeskEventBroker
      url: ${DESK_URL}
      token: ${DESK_EVENTS_TOKEN}   # optional; desk then accepts loopback callers only

``publish`` is called synchronously by the tracker store; events are queued and posted in
order, in batches, by a background task, retried while desk is unreachable (up to
``max_pending`` events, the oldest dropped first with a warning).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Deque, Dict, Optional, Text

import aiohttp
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)
FORWARDED = frozenset({"user", "bot", "pause", "resume", "restart", "session_started"})
BATCH = 200


class DeskEventBroker(EventBroker):
    """Posts conversation events to desk in order, in the background."""

    def __init__(self, url: str, token: str = "", max_pending: int = 10_000, timeout_s: float = 5.0) -> None:
        self.endpoint = url.rstrip("/") + "/api/rasa/events"
        self.token = token
        self.max_pending = max_pending
        self.timeout_s = timeout_s
        self._pending: Deque[Dict[str, Any]] = deque()
        self._wake: Optional[asyncio.Event] = None
        self._sender: Optional["asyncio.Task[None]"] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self._closing = False

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[asyncio.AbstractEventLoop] = None
    ) -> Optional["DeskEventBroker"]:
        url = (broker_config.url or "").strip()
        if not url:
            log.warning("desk_broker.disabled reason=no_url")
            return None
        token = str(broker_config.token or broker_config.kwargs.get("token") or "").strip()
        return cls(url, token=token)

    def publish(self, event: Dict[Text, Any]) -> None:
        if event.get("event") not in FORWARDED:
            return
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()
            log.warning("desk_broker.dropped reason=backlog_full")
        self._pending.append(event)
        self._ensure_sender()
        if self._wake is not None:
            self._wake.set()

    def _ensure_sender(self) -> None:
        if self._sender is not None and not self._sender.done():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script): events wait for the next publish in a loop
            return
        self._wake = asyncio.Event()
        self._sender = asyncio.create_task(self._run())

    async def _run(self) -> None:
        delay = 0.2
        assert self._wake is not None
        while not self._closing or self._pending:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._pending[i] for i in range(min(BATCH, len(self._pending)))]
            if await self._post(batch):
                for _ in batch:
                    self._pending.popleft()
                delay = 0.2
            elif self._closing:
                return
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _post(self, batch: Any) -> bool:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self._session.post(self.endpoint, json={"events": batch}, headers=headers) as response:
                if response.status < 300:
                    return True
                log.warning("desk_broker.rejected status=%d", response.status)
                return response.status < 500 and response.status not in (
                    401,
                    403,
                )  # a bad batch is not retried
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("desk_broker.unreachable error=%s pending=%d", type(exc).__name__, len(self._pending))
            return False

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        """Sends what is still queued (one attempt), then closes the session."""
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._sender is not None:
            try:
                await asyncio.wait_for(self._sender, self.timeout_s + 1)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._sender.cancel()
        if self._session is not None:
            await self._session.close()
