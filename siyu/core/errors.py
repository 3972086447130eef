"""One error hierarchy (DESIGN.md convention 4).

A ``SiyuError`` carries an HTTP status, a stable dotted ``code`` that clients may
branch on, a human message and optional structured data. The app renders every one
of them as ``application/problem+json``; routes never build HTTP errors by hand.
Each domain declares its own codes in its ``errors.py``.
"""

from __future__ import annotations

from typing import Any


class SiyuError(Exception):
    status: int = 400
    code: str = "request.bad"
    message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.data = data or {}
        super().__init__(self.message)


class BadRequest(SiyuError):
    status = 400
    code = "request.bad"


class Unauthorized(SiyuError):
    status = 401
    code = "auth.required"
    message = "Authentication is required."


class PermissionDenied(SiyuError):
    status = 403
    code = "auth.permission_denied"
    message = "You do not have permission to do this."


class NotFound(SiyuError):
    status = 404
    code = "resource.not_found"
    message = "Not found."


class Conflict(SiyuError):
    status = 409
    code = "resource.conflict"
    message = "The request conflicts with the current state."


class PayloadTooLarge(SiyuError):
    status = 413
    code = "request.too_large"
    message = "The request body is too large."


class ValidationFailed(SiyuError):
    status = 422
    code = "request.invalid"
    message = "The request is invalid."


class TooManyRequests(SiyuError):
    status = 429
    code = "request.rate_limited"
    message = "Too many requests; try again later."


class ServiceUnavailable(SiyuError):
    status = 503
    code = "service.unavailable"
    message = "The service is not ready."


class ConfigurationError(Exception):
    """Raised at start-up for unsafe or missing configuration (not an HTTP error)."""
