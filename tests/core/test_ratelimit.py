"""Fixed-window rate limits, in memory and on a real Redis."""

from __future__ import annotations

import redis

from siyu.core.clock import FrozenClock
from siyu.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter


def exercise(limiter: RateLimiter) -> list[bool]:
    return [limiter.hit("ip:1", limit=3, window_seconds=60).allowed for _ in range(5)]


def test_memory_limiter_window(frozen_clock: FrozenClock) -> None:
    limiter = MemoryRateLimiter()
    assert exercise(limiter) == [True, True, True, False, False]
    denied = limiter.hit("ip:1", limit=3, window_seconds=60)
    assert (denied.allowed, denied.count, denied.retry_after_seconds) == (False, 6, 60)
    assert limiter.hit("ip:2", limit=3, window_seconds=60).allowed
    frozen_clock.advance(seconds=60)
    assert limiter.hit("ip:1", limit=3, window_seconds=60).allowed


def test_redis_limiter_is_shared_between_clients(redis_url: str) -> None:
    first = RedisRateLimiter(redis.Redis.from_url(redis_url))
    second = RedisRateLimiter(redis.Redis.from_url(redis_url))
    assert [first.hit("ip:9", limit=2, window_seconds=30).allowed for _ in range(2)] == [
        True,
        True,
    ]
    denied = second.hit("ip:9", limit=2, window_seconds=30)
    assert (denied.allowed, denied.count) == (False, 3)
    assert 1 <= denied.retry_after_seconds <= 30
    ttl = redis.Redis.from_url(redis_url).pttl("siyu:rate:ip:9")
    assert 0 < ttl <= 30_000
