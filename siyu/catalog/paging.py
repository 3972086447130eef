"""Keyset paging for catalog lists: the shared cursors with the catalog's own codes."""

from __future__ import annotations

from siyu.catalog.catalog_errors import InvalidCursor, InvalidLimit
from siyu.core import pagination
from siyu.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, encode_cursor

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "check_limit", "decode_cursor", "encode_cursor"]


def check_limit(limit: int) -> int:
    return pagination.check_limit(limit, error=InvalidLimit)


def decode_cursor(cursor: str, *, parts: int) -> tuple[int, ...]:
    """The integers packed by ``encode_cursor``; ``catalog.invalid_cursor`` otherwise."""
    return pagination.decode_cursor(cursor, parts=parts, error=InvalidCursor)
