"""The one source of "now" (DESIGN.md: tests move the clock).

Every module asks ``clock.now()``; nothing calls ``datetime.now()`` directly. Tests
install a :class:`FrozenClock` and advance it by days to exercise timeouts and expiry.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; thread-safe for concurrent tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


_current: Clock = SystemClock()


def now() -> datetime:
    return _current.now()


def install(clock: Clock) -> Clock:
    """Install ``clock`` and return the one it replaced (so tests can restore it)."""
    global _current
    previous = _current
    _current = clock
    return previous
