"""Opaque keyset cursors for catalog lists (same shape as the customers API's)."""

from __future__ import annotations

import base64
import binascii

from siyu.catalog.catalog_errors import InvalidCursor, InvalidLimit

DEFAULT_LIMIT = 20
MAX_LIMIT = 200


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidLimit(f"limit must be between 1 and {MAX_LIMIT}.", data={"max": MAX_LIMIT})
    return limit


def encode_cursor(*keys: int) -> str:
    text = ":".join(str(key) for key in keys)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, parts: int) -> tuple[int, ...]:
    """The integers packed by ``encode_cursor``; ``catalog.invalid_cursor`` otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        keys = tuple(int(part) for part in text.split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor() from error
    if len(keys) != parts:
        raise InvalidCursor()
    return keys
