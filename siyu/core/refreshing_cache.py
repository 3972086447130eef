"""A per-process cache for what a hot route reads on every request and an operator
changes rarely (a flash-sale item, a coupon template).

An entry is fresh for ``ttl`` seconds. Past that it is served once more while one
refresh runs in the background: a thousand requests a second must not all reload
it at once, nor wait for the reload. A key never seen is loaded once however many
requests ask for it together (single flight): at a sale's first second 64
concurrent first clicks had run 64 loads. ``None`` (not found) is cached too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)
Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")
Result = TypeVar("Result")
# Past this many entries the cache starts again (bounded memory under junk keys).
CACHE_LIMIT = 200_000


class RefreshingCache(Generic[Key, Value]):
    def __init__(self, load: Callable[[Key], Awaitable[Value | None]], ttl: float) -> None:
        self._load = load
        self._ttl = ttl
        self._held: dict[Key, tuple[float, Value | None]] = {}
        self._refreshing: set[Key] = set()
        self._flights: dict[Key, asyncio.Future[Value | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: Key) -> Value | None:
        held = self._held.get(key)
        if held is None:
            return await self._single_flight(key)
        if held[0] <= time.monotonic() and key not in self._refreshing:
            self._refreshing.add(key)
            task = asyncio.get_running_loop().create_task(self._refresh_quietly(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return held[1]

    def forget(self, key: Key) -> None:
        self._held.pop(key, None)

    async def _refresh(self, key: Key) -> Value | None:
        value = await self._load(key)
        if len(self._held) > CACHE_LIMIT:
            self._held.clear()
        self._held[key] = (time.monotonic() + self._ttl, value)
        return value

    async def _refresh_quietly(self, key: Key) -> None:
        try:
            await self._refresh(key)
        except Exception:
            logger.exception("refreshing the cached %r failed", key)
        finally:
            self._refreshing.discard(key)

    async def _single_flight(self, key: Key) -> Value | None:
        return await single_flight(self._flights, key, lambda: self._refresh(key))


async def single_flight(
    flights: dict[Any, asyncio.Future[Any]], key: Hashable, start: Callable[[], Awaitable[Result]]
) -> Result:
    """``await start()``, or join the same load already running under ``key`` in
    ``flights`` (the caller's table of loads in progress)."""
    flight = flights.get(key)
    if flight is None:
        flight = asyncio.ensure_future(start())
        flights[key] = flight
        flight.add_done_callback(lambda _done: flights.pop(key, None))
    result: Result = await asyncio.shield(flight)
    return result
