"""Opaque keyset cursors and limits shared by list endpoints.

A cursor packs the sort key of the last row returned (integers, e.g. an id, or a
timestamp in microseconds and an id); the next page continues strictly after it.
Keyset paging stays fast on deep pages and never skips or repeats a row when rows
are added meanwhile, which offset paging would.
"""

from __future__ import annotations

import base64
import binascii

from siyu.core.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 200


class InvalidCursor(ValidationFailed):
    code = "request.invalid_cursor"
    message = "The cursor is not one this server gave out."


class InvalidLimit(ValidationFailed):
    code = "request.invalid_limit"


def check_limit(
    limit: int, *, maximum: int = MAX_LIMIT, error: type[ValidationFailed] = InvalidLimit
) -> int:
    if not 1 <= limit <= maximum:
        raise error(f"limit must be between 1 and {maximum}.", data={"max": maximum})
    return limit


def encode_cursor(*keys: int) -> str:
    text = ":".join(str(key) for key in keys)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, *, parts: int, error: type[ValidationFailed] = InvalidCursor
) -> tuple[int, ...]:
    """The integers packed by ``encode_cursor``; ``error`` when it is not one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        keys = tuple(int(part) for part in text.split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error_:
        raise error() from error_
    if len(keys) != parts:
        raise error()
    return keys
