"""Rasa's REST channel (``/webhooks/rest/webhook``), plus the live copy for operators.

Identical to ``rasa.core.channels.rest.RestInput`` (same name, URL and answers); each
citizen message is also handed to desk at once (``live_copy``), so an operator holding the
conversation sees it without waiting for NLU.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint

from bot.channels.live_copy import with_live_copy


class RestInput(RasaRestInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(with_live_copy(on_new_message))
