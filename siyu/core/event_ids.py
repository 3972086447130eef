"""Time-ordered ids for domain events: UUID version 7 (RFC 9562).

Random (version 4) ids land anywhere in the unique index on ``outbox_event.event_id``
and in ``processed_event``'s key, so each insert touches a random index page: a
segment's first refresh, emitting half a million ``segment.entered`` events, spent
7 of its 12 s in SQLite's B-tree inserts (bench/audiences.py (b)). A version-7 id
starts with the Unix time in milliseconds and a per-process counter, so the ids a
process makes sort in the order it makes them and the index grows at its right
edge. The last 62 bits are random (``os.urandom``, which stays safe across
``fork``), keeping ids of different processes apart.

Layout (128 bits): 48-bit milliseconds | version 7 | 12-bit counter | variant 0b10 |
62 random bits. The counter orders ids within one millisecond; a burst of more than
4,096 ids in one millisecond borrows the next milliseconds, so ids never go back,
even when the wall clock does.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

COUNTER_SLOTS = 4096  # 12 bits per millisecond
_RANDOM_MASK = (1 << 62) - 1
_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)

_lock = threading.Lock()
_last_ms = 0
_last_slot = -1  # the counter value last handed out within _last_ms


def _reserve(count: int) -> tuple[int, int]:
    """Reserve ``count`` consecutive (millisecond, counter) slots; return the first as
    an absolute slot number (milliseconds × 4096 + counter)."""
    global _last_ms, _last_slot
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            first = now_ms * COUNTER_SLOTS
        else:
            first = _last_ms * COUNTER_SLOTS + _last_slot + 1
        last = first + count - 1
        _last_ms, _last_slot = divmod(last, COUNTER_SLOTS)
    return first, count


def _format(slot: int, tail: int) -> str:
    ms, counter = divmod(slot, COUNTER_SLOTS)
    text = "%032x" % ((ms << 80) | (counter << 64) | _VERSION_AND_VARIANT | (tail & _RANDOM_MASK))
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_event_id() -> str:
    """One id, later than every id this process made before."""
    first, _ = _reserve(1)
    return _format(first, int.from_bytes(os.urandom(8), "big"))


def event_id_stream() -> Iterator[str]:
    """Ids for a bulk write of unknown length, reserved a chunk at a time (one lock
    and one ``os.urandom`` call per chunk rather than per id); chunks grow from 64 to
    4,096 so a short write reserves little."""
    chunk = 64
    while True:
        first, count = _reserve(chunk)
        chunk = min(chunk * 2, COUNTER_SLOTS)
        randomness = os.urandom(8 * count)
        for index in range(count):
            tail = int.from_bytes(randomness[8 * index : 8 * index + 8], "big")
            yield _format(first + index, tail)
