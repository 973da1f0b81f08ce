"""Typed errors of desk; `desk.app.error_middleware` maps them to HTTP once."""

from __future__ import annotations

from typing import Any, Dict, Optional


class DeskError(Exception):
    """Base error: carries an HTTP status, a stable code and a Chinese message."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def headers(self) -> Dict[str, str]:
        """HTTP headers the response carries besides the JSON body (e.g. Retry-After)."""
        return {}

    def as_dict(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class BadRequest(DeskError):
    status = 400
    code = "bad_request"


class InvalidInput(DeskError):
    status = 422
    code = "invalid_input"


class NotFound(DeskError):
    status = 404
    code = "not_found"


class Conflict(DeskError):
    status = 409
    code = "conflict"


class Unauthorized(DeskError):
    status = 401
    code = "unauthorized"


class Forbidden(DeskError):
    status = 403
    code = "forbidden"
