"""Fixed-window rate limits: Redis when configured (shared by every process), else memory.

Used for per-IP login attempts now, and by later issues for flash-sale abuse control.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import redis

from siyu.core import clock

# INCR and EXPIRE in one step: a crash between the two must not leave a key that
# never expires and locks a client out for good.
_INCREMENT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    retry_after_seconds: int


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision: ...


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, *, prefix: str = "siyu:rate:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_INCREMENT_SCRIPT)

    def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        count, ttl_ms = self._script(keys=[self._prefix + key], args=[window_seconds * 1000])
        retry_after = max(1, -(-int(ttl_ms) // 1000)) if int(count) > limit else 0
        return RateDecision(int(count) <= limit, int(count), retry_after)


class MemoryRateLimiter:
    """Per-process windows; correct for one process, which is the embedded default."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = clock.now().timestamp()
        with self._lock:
            started, count = self._windows.get(key, (now, 0))
            if now - started >= window_seconds:
                started, count = now, 0
            count += 1
            self._windows[key] = (started, count)
            if len(self._windows) > 100_000:
                self._forget_expired(now, window_seconds)
        retry_after = max(1, int(started + window_seconds - now + 0.999)) if count > limit else 0
        return RateDecision(count <= limit, count, retry_after)

    def _forget_expired(self, now: float, window_seconds: int) -> None:
        self._windows = {
            key: value for key, value in self._windows.items() if now - value[0] < window_seconds
        }
