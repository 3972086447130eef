"""Further catalog error codes (``errors.py`` holds the ones shared with orders)."""

from __future__ import annotations

from siyu.core.errors import Conflict, ValidationFailed


class InvalidCursor(ValidationFailed):
    code = "catalog.invalid_cursor"
    message = "The cursor is not one this server gave out."


class InvalidLimit(ValidationFailed):
    code = "catalog.invalid_limit"
    message = "The page size is out of range."


class InvalidStatusChange(Conflict):
    """``data.from`` / ``data.to``: draft → on_sale → off → on_sale; never back to draft."""

    code = "catalog.invalid_status_change"
    message = "The product cannot move to that status from its current one."
