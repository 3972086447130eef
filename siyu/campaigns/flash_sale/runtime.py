"""The reserve fast path's per-process state, built lazily on the app's first sale.

Our stack serves ~2,900 req/s on /healthz but ~240/s on a sync route that takes
the request session and commits, so the reserve route skips all of that:

* it is ``async def`` and takes no session dependency (no thread-pool hop);
* the customer token is resolved through the in-process cache of
  ``siyu.customers.token_cache`` (a revoked session keeps reserving for at most its
  TTL — the order is still written under the same customer, and payment needs the
  normal, uncached session);
* the item, its session and campaign come from a cache of ``CATALOGUE_TTL_SECONDS``
  (a cancelled campaign stops selling within that delay);
* Redis engine: one EVALSHA per click (rate windows, in-flight check and reserve in
  ``GATED_RESERVE_SCRIPT``) on the pipelined client (``redis_pipe``), no database
  work at all;
* database engine: the :class:`GroupCommitWriter` thread, one commit per batch.

Orders are written by the ``flash_sale.sweep`` jobs (``tasks``), in whichever
worker runs them — never in the request.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import redis
import redis.asyncio as redis_async
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import service, tasks
from siyu.campaigns.flash_sale.engines import (
    GATE_IN_FLIGHT,
    GATE_RATE_LIMITED,
    GATE_SCRIPT,
    GATED_IN_FLIGHT,
    GATED_RATE_LIMITED,
    GATED_RESERVE_SCRIPT,
    NOT_LOADED,
    RedisStock,
    ReserveRequest,
)
from siyu.campaigns.flash_sale.errors import (
    EngineUnavailable,
    ItemNotFound,
    LimitReached,
    RateLimited,
    RequestInFlight,
    SoldOut,
)
from siyu.campaigns.flash_sale.group_commit import GroupCommitWriter
from siyu.campaigns.flash_sale.redis_pipe import PipelinedRedis, script_sha
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import read_only_session, transaction
from siyu.core.ratelimit import MemoryRateLimiter
from siyu.core.refreshing_cache import RefreshingCache, single_flight
from siyu.core.settings import Settings
from siyu.customers.sessions import ShopCustomer
from siyu.customers.token_cache import TokenCache, token_cache_for
from siyu.models.campaign import Campaign
from siyu.models.flash_sale import FlashSaleItem, FlashSaleSession, FlashSaleTally, StockEngine

logger = logging.getLogger(__name__)
CATALOGUE_TTL_SECONDS = 2.0
RATE_WINDOW_SECONDS = 10
IN_FLIGHT_TTL_MS = 5_000


@dataclass(frozen=True)
class ItemEntry:
    campaign: Campaign
    session: FlashSaleSession
    item: FlashSaleItem


class FlashSaleRuntime:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        cipher: PiiCipher,
        redis_client: redis.Redis | None,
        *,
        tokens: TokenCache | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.cipher = cipher
        self.redis = redis_client
        # Blocking pool: a burst beyond its connections waits for one instead of
        # failing (redis-py's default pool refuses past 100 at once).
        self.async_redis = (
            redis_async.Redis(
                connection_pool=redis_async.BlockingConnectionPool.from_url(
                    settings.redis_url, max_connections=64, timeout=5
                )
            )
            if redis_client is not None and settings.redis_url
            else None
        )
        self.stock = (
            RedisStock(redis_client, async_client=self.async_redis) if redis_client else None
        )
        self._gate_sha: str | None = None
        self.pipe = (
            PipelinedRedis(settings.redis_url)
            if self.async_redis is not None
            and settings.redis_url
            and PipelinedRedis.supports(settings.redis_url)
            else None
        )
        self._gated_sha = script_sha(GATED_RESERVE_SCRIPT)
        # The plain ASGI route in front of FastAPI (``fast_path``); tests turn it off
        # to compare its answers with the FastAPI route's.
        self.fast_path = True
        self.memory_limiter = MemoryRateLimiter()
        self.writer = GroupCommitWriter(factory)
        self.tokens = tokens or TokenCache(self._read_session)
        self._items: RefreshingCache[str, ItemEntry] = RefreshingCache(
            self._refresh_item, CATALOGUE_TTL_SECONDS
        )
        self._in_flight: set[int] = set()
        # Loads in progress, shared by every request that needs the same one: at a
        # sale's first second 64 requests missing together ran 64 loads at once.
        self._flights: dict[tuple[str, Any], asyncio.Future[Any]] = {}
        self._lock = threading.Lock()

    # --- reading through caches (a thread hop only on a miss) -------------------------

    def _read_session(self) -> Session:
        return read_only_session(self.factory)

    async def customer_for(self, raw: str | None) -> ShopCustomer | None:
        return await self.tokens.customer_for(raw)

    def _load_item(self, public_id: str) -> ItemEntry | None:
        with self._read_session() as session:
            row = session.execute(
                select(FlashSaleItem, FlashSaleSession, Campaign)
                .join(FlashSaleSession, FlashSaleSession.id == FlashSaleItem.session_id)
                .join(Campaign, Campaign.id == FlashSaleItem.campaign_id)
                .where(FlashSaleItem.public_id == public_id)
            ).one_or_none()
            session.expunge_all()
            session.connection().close()
        return None if row is None else ItemEntry(item=row[0], session=row[1], campaign=row[2])

    def _fix_engine(self, entry: ItemEntry) -> None:
        """First sale of a campaign published through the registry's generic route:
        fix the engines and schedule the order-writing jobs its publish did not."""
        with transaction(self.factory) as session:
            service.fix_engines(session, entry.campaign, self.settings.redis_url)
            service.schedule_sweeps(session, entry.campaign.id)

    async def _refresh_item(self, public_id: str) -> ItemEntry | None:
        entry = await anyio.to_thread.run_sync(self._load_item, public_id)
        if entry is not None and entry.session.stock_engine is None:
            # Published through the registry's generic route: fix the engine now.
            await anyio.to_thread.run_sync(self._fix_engine, entry)
            entry = await anyio.to_thread.run_sync(self._load_item, public_id)
        return entry

    async def item_for(self, public_id: str) -> ItemEntry:
        """The cached item (``siyu.core.refreshing_cache``: a cancelled campaign stops
        selling within ``CATALOGUE_TTL_SECONDS``)."""
        entry = await self._items.get(public_id)
        if entry is None:
            raise ItemNotFound(data={"item_id": public_id})
        return entry

    async def _single_flight(
        self, key: tuple[str, Any], load: Callable[[Any], Awaitable[Any]], argument: Any
    ) -> Any:
        """``await load(argument)``, or join the same load already running."""
        return await single_flight(self._flights, key, lambda: load(argument))

    async def _load_redis_async(self, item_id: int) -> None:
        await anyio.to_thread.run_sync(self._load_redis, item_id)

    # --- abuse control -----------------------------------------------------------------

    async def admit(self, customer_id: int, ip: str | None, entry: ItemEntry) -> None:
        """Per-customer and per-IP rate limits, and one request in flight per customer
        (released by :meth:`done`). Redis when configured, so every process shares them."""
        limits = [(f"fs:c:{customer_id}", entry.session.customer_rate_limit)]
        if ip:
            limits.append((f"fs:ip:{ip}", entry.session.ip_rate_limit))
        if self.async_redis is not None and self.stock is not None:
            keys = ["siyu:rate:" + key for key, _limit in limits]
            keys.append(self.stock.keys.in_flight(customer_id))
            args = [
                RATE_WINDOW_SECONDS * 1000,
                *(limit for _key, limit in limits),
                IN_FLIGHT_TTL_MS,
            ]
            try:
                verdict, ttl_ms = await self._gate(keys, args)
            except redis.exceptions.NoScriptError:
                # Redis lost its scripts (restarted): load again, once.
                self._gate_sha = None
                verdict, ttl_ms = await self._gate(keys, args)
            if int(verdict) == GATE_RATE_LIMITED:
                raise RateLimited(data={"retry_after_seconds": max(1, -(-int(ttl_ms) // 1000))})
            if int(verdict) == GATE_IN_FLIGHT:
                raise RequestInFlight(data={"retry_after_seconds": 1})
            return
        for key, limit in limits:
            decision = self.memory_limiter.hit(key, limit=limit, window_seconds=RATE_WINDOW_SECONDS)
            if not decision.allowed:
                raise RateLimited(data={"retry_after_seconds": decision.retry_after_seconds})
        with self._lock:
            if customer_id in self._in_flight:
                raise RequestInFlight(data={"retry_after_seconds": 1})
            self._in_flight.add(customer_id)

    async def _gate(self, keys: list[str], args: list[int]) -> tuple[int, int]:
        """One EVALSHA: both rate windows, then the in-flight lock (``GATE_SCRIPT``)."""
        assert self.async_redis is not None
        if self._gate_sha is None:
            self._gate_sha = str(await self.async_redis.script_load(GATE_SCRIPT))
        answer = await self.async_redis.evalsha(self._gate_sha, len(keys), *keys, *args)
        verdict, ttl_ms = answer
        return int(verdict), int(ttl_ms)

    async def done(self, customer_id: int) -> None:
        if self.async_redis is not None and self.stock is not None:
            await self.async_redis.delete(self.stock.keys.in_flight(customer_id))
            return
        with self._lock:
            self._in_flight.discard(customer_id)

    # --- the engines -------------------------------------------------------------------

    async def _gated(self, keys: list[str], args: list[Any]) -> tuple[int, int]:
        if self.pipe is not None:
            answer = await self.pipe.evalsha(GATED_RESERVE_SCRIPT, self._gated_sha, keys, args)
        else:
            assert self.async_redis is not None
            try:
                answer = await self.async_redis.evalsha(self._gated_sha, len(keys), *keys, *args)
            except redis.exceptions.NoScriptError:
                answer = await self.async_redis.eval(GATED_RESERVE_SCRIPT, len(keys), *keys, *args)
        result, ttl_ms = answer
        return int(result), int(ttl_ms)

    async def reserve_gated(
        self, request: ReserveRequest, ip: str | None, entry: ItemEntry
    ) -> None:
        """Redis engine in one round trip: the rate windows, the in-flight lock and the
        reserve, all in ``GATED_RESERVE_SCRIPT`` (what :meth:`admit`, :meth:`reserve`
        and :meth:`done` do in two, with the same keys, so processes on either agree)."""
        assert self.stock is not None
        keys = self.stock.keys
        script_keys = [
            keys.stock(request.item_id),
            keys.buyers(request.item_id),
            keys.queue,
            keys.in_flight(request.customer_id),
            f"siyu:rate:fs:c:{request.customer_id}",
        ]
        args: list[Any] = [
            request.customer_id,
            request.quantity,
            request.per_customer_limit,
            request.to_json(),
            RATE_WINDOW_SECONDS * 1000,
            entry.session.customer_rate_limit,
        ]
        if ip:
            script_keys.append(f"siyu:rate:fs:ip:{ip}")
            args.append(entry.session.ip_rate_limit)
        try:
            result, ttl_ms = await self._gated(script_keys, args)
            if result == NOT_LOADED:
                await self._single_flight(
                    ("redis", request.item_id), self._load_redis_async, request.item_id
                )
                result, ttl_ms = await self._gated(script_keys, args)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            raise EngineUnavailable(data={"engine": request.engine}) from error
        if result >= 0:
            return
        if result == GATED_RATE_LIMITED:
            raise RateLimited(data={"retry_after_seconds": max(1, -(-ttl_ms // 1000))})
        if result == GATED_IN_FLIGHT:
            raise RequestInFlight(data={"retry_after_seconds": 1})
        data = {"item_id": request.item_id, "quantity": request.quantity}
        if result == -1:
            raise LimitReached(data=data)
        if result == -2:
            raise SoldOut(data=data)
        raise EngineUnavailable(data={"engine": request.engine})

    def _load_redis(self, item_id: int) -> None:
        assert self.stock is not None
        with self._read_session() as session:
            item = session.get(FlashSaleItem, item_id)
            assert item is not None
            tallies = dict(
                session.execute(
                    select(FlashSaleTally.customer_id, FlashSaleTally.quantity).where(
                        FlashSaleTally.item_id == item_id, FlashSaleTally.quantity > 0
                    )
                ).all()
            )
            stock_left = item.stock_left
            session.connection().close()
        self.stock.load(item_id, stock_left, tallies)

    async def reserve(self, request: ReserveRequest) -> None:
        """Take the units. The Redis script also frees the buyer's in-flight lock, on
        every outcome (a round trip saved); the database engine leaves it to ``done``."""
        if request.engine == StockEngine.REDIS:
            if self.stock is None or self.async_redis is None:
                raise EngineUnavailable(data={"engine": request.engine})
            if not await self.stock.reserve_async(request, release_lock=True):
                await anyio.to_thread.run_sync(self._load_redis, request.item_id)
                if not await self.stock.reserve_async(request, release_lock=True):
                    raise EngineUnavailable(data={"engine": request.engine})
            return
        await self.writer.reserve(request)

    # --- orders, on demand ---------------------------------------------------------------

    def process_pending(self) -> int:
        """Drain Redis and write the orders waiting, now (tests, an operator's nudge);
        the ``flash_sale.sweep`` jobs do this on their own."""
        handled, _left = tasks.write_pending(self.factory, seconds=60)
        return handled

    def stop(self) -> None:
        self.writer.stop()
        if self.pipe is not None:
            self.pipe.close()


_heap_frozen = False


def freeze_heap() -> None:
    """Once per process: collect, then move every object alive now (the app, its
    routes, modules, mappers — about a million) out of the collector's sight.

    A full (generation 2) collection walks every tracked object: measured 105–125 ms
    on this app, seven times in 11 s of a sale — the whole p99. Those objects live as
    long as the process anyway; afterwards a full collection walks only what was
    allocated since, a few milliseconds. Called when the app has started (the fast
    path sees the lifespan), else at the first sale."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


def runtime_for(app: Any) -> FlashSaleRuntime:
    state = app.state
    runtime: FlashSaleRuntime | None = getattr(state, "flash_sale", None)
    if runtime is None:
        freeze_heap()
        runtime = FlashSaleRuntime(
            state.session_factory,
            state.settings,
            state.pii,
            getattr(state, "redis", None),
            tokens=token_cache_for(app),
        )
        state.flash_sale = runtime
    return runtime


def new_request_time() -> str:
    return clock.now().isoformat()
