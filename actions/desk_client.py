"""DeskClient: the action server's only way to reach desk (tickets, dispatch).

Retries transient failures with backoff; creates are safe to retry because every
create carries an idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import aiohttp

log = logging.getLogger(__name__)


class DeskUnavailable(Exception):
    """desk could not be reached or failed after the retries."""


class TicketNotFound(Exception):
    """desk has no ticket with that id."""


@dataclass(frozen=True)
class Place:
    location: Optional[str] = None
    district: Optional[str] = None
    street: Optional[str] = None


def place_of(classification: Dict[str, Any]) -> Place:
    return Place(classification.get("location"), classification.get("district"), classification.get("street"))


class DeskClient:
    def __init__(
        self,
        base_url: Optional[str] = None,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.3,
    ) -> None:
        self.base_url = (base_url or os.environ.get("DESK_URL") or "http://127.0.0.1:8000").rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts = attempts
        self._backoff_s = backoff_s

    async def create_ticket(self, payload: Dict[str, Any], idempotency_key: str) -> Dict[str, Any]:
        return await self._request(
            "POST", "/api/tickets", json=payload, headers={"Idempotency-Key": idempotency_key}
        )

    async def get_ticket(self, ticket_id: str) -> Dict[str, Any]:
        return await self._request("GET", f"/api/tickets/{ticket_id}")

    async def list_tickets(self, sender_id: str, limit: int = 3) -> List[Dict[str, Any]]:
        return await self._request(
            "GET", "/api/tickets", params={"sender_id": sender_id, "limit": str(limit)}
        )

    async def answer(self, question: str, context: Optional[str] = None) -> Dict[str, Any]:
        """The knowledge base's answer with its sources (empty when it does not know)."""
        return await self._request(
            "POST", "/api/kb/answer", json={"question": question[:500], "context": context}
        )

    async def classify(self, text: str) -> Dict[str, Any]:
        """What the dispatcher makes of a message (scenario, owner, urgency, place, advice)."""
        return await self._request("POST", "/api/classify", json={"text": text})

    async def locate(self, text: str) -> Place:
        """District and street of an address; an empty Place when desk is down."""
        try:
            found = await self.classify(text)
        except DeskUnavailable:
            return Place()
        return place_of(found)

    async def escalate(
        self, sender_id: str, channel: str, reason: str, draft: Dict[str, Any]
    ) -> Dict[str, Any]:
        """Queues the conversation for an operator; returns its place in the queue."""
        body = {"sender_id": sender_id, "channel": channel, "reason": reason, "draft": draft}
        return await self._request("POST", "/api/handoffs", json=body)

    async def handoff_status(self, sender_id: str) -> Dict[str, Any]:
        return await self._request("GET", f"/api/handoffs/{sender_id}/status")

    async def withdraw_handoff(self, sender_id: str) -> Dict[str, Any]:
        return await self._request("DELETE", f"/api/handoffs/{sender_id}")

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        last_error: Optional[BaseException] = None
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                async with aiohttp.ClientSession(timeout=self._timeout) as session:
                    async with session.request(method, self.base_url + path, **kwargs) as resp:
                        if resp.status == 404:
                            raise TicketNotFound(path)
                        if resp.status >= 500:
                            last_error = DeskUnavailable(f"desk answered {resp.status}")
                            continue
                        body = await resp.json()
                        if resp.status >= 400:
                            raise DeskUnavailable(f"desk rejected the request: {body}")
                        return body
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last_error = exc
        log.warning("actions.desk.unavailable path=%s error=%s", path, type(last_error).__name__)
        raise DeskUnavailable(str(last_error))
