"""desk's client for Rasa's HTTP API: pause, resume and operator messages go into the tracker.

Operator messages are appended as ``bot`` events with ``execute_side_effects`` and
``output_channel=latest``, so Rasa delivers them through the channel the citizen last used
(web chat, WeChat's customer-service API; the REST channel cannot push and keeps them in the
transcript only) and the transcript stays whole.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

import aiohttp

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not answer or refused the call."""


class RasaClient:
    def __init__(self, base_url: str, token: Optional[str] = None, timeout_s: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: Optional[aiohttp.ClientSession] = None

    def _params(self, **extra: str) -> Dict[str, str]:
        params = dict(extra)
        if self._token:
            params["token"] = self._token
        return params

    async def _request(self, method: str, path: str, params: Dict[str, str], body: Any = None) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.request(method, self._base + path, params=params, json=body) as response:
                if response.status >= 400:
                    log.warning("desk.rasa.refused path=%s status=%d", path.split("/")[1], response.status)
                    raise RasaUnavailable(f"Rasa answered {response.status}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("desk.rasa.unreachable error=%s", type(exc).__name__)
            raise RasaUnavailable(type(exc).__name__) from exc

    async def append(self, sender_id: str, events: List[Dict[str, Any]]) -> None:
        """Appends events to the conversation; bot messages among them reach the citizen."""
        await self._request(
            "POST",
            f"/conversations/{sender_id}/tracker/events",
            self._params(execute_side_effects="true", output_channel="latest", include_events="NONE"),
            events,
        )

    async def transcript(self, sender_id: str) -> List[Dict[str, Any]]:
        """The conversation's messages, oldest first: ``{"from", "text", "timestamp", ...}``."""
        tracker = await self._request(
            "GET", f"/conversations/{sender_id}/tracker", self._params(include_events="ALL")
        )
        lines: List[Dict[str, Any]] = []
        for event in tracker.get("events") or []:
            kind = event.get("event")
            if kind == "user" and event.get("text"):
                metadata = event.get("metadata") or {}
                voice = any(isinstance(v, dict) and v.get("type") == "voice" for v in metadata.values())
                lines.append(
                    {
                        "from": "citizen",
                        "text": event["text"],
                        "timestamp": event.get("timestamp"),
                        "voice": voice,
                    }
                )
            elif kind == "bot" and event.get("text"):
                custom = (event.get("data") or {}).get("custom") or {}
                speaker = "operator" if isinstance(custom, dict) and custom.get("operator") else "bot"
                line = {"from": speaker, "text": event["text"], "timestamp": event.get("timestamp")}
                if speaker == "operator":
                    line["operator"] = custom["operator"]
                lines.append(line)
        return lines

    async def slots(self, sender_id: str) -> Dict[str, Any]:
        tracker = await self._request(
            "GET", f"/conversations/{sender_id}/tracker", self._params(include_events="NONE")
        )
        slots = tracker.get("slots")
        return slots if isinstance(slots, dict) else {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def operator_message(text: str, operator: str) -> Dict[str, Any]:
    """A ``bot`` event spoken by an operator (the web chat shows who; transcripts keep it)."""
    return {"event": "bot", "text": text, "data": {"custom": {"operator": operator}}}


def bot_message(text: str) -> Dict[str, Any]:
    return {"event": "bot", "text": text}


PAUSE = {"event": "pause"}
RESUME = {"event": "resume"}
