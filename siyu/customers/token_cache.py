"""Storefront tokens resolved through an in-process cache, misses in batches.

For the plain ASGI routes a crowd hammers (the flash sale's reserve click, coupon
claims): their requests take no database session, so the customer behind the token
comes from :class:`TokenCache`. An entry lives ``TOKEN_TTL_SECONDS``: a revoked or
expired session keeps working for at most that long in this process on those routes
(what it does there is still done for the same customer; payment and everything else
use the normal, uncached session).

The first request of every buyer misses the cache, and in a flash sale every buyer
clicks at once: one query (and one pooled connection) per miss left most of the
server's time in connection checkouts. One thread instead takes every lookup
waiting at that moment and resolves them with one ``token_hash IN (…)`` query.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import clock, security
from siyu.core.db import read_only_session
from siyu.customers.sessions import TOKEN_PREFIX, ShopCustomer, resolve_token
from siyu.models.customer import Customer, CustomerSession, CustomerStatus

logger = logging.getLogger(__name__)
MAX_BATCH = 500
TOKEN_TTL_SECONDS = 30.0
# Past this many entries the cache starts again (memory stays bounded under a
# crowd of one-off tokens).
CACHE_LIMIT = 200_000


def resolve_tokens(session: Session, raws: list[str]) -> dict[str, ShopCustomer | None]:
    """``resolve_token`` for many tokens in one query; merged customers (rare) take
    the one-by-one path that follows the merge chain."""
    found: dict[str, ShopCustomer | None] = dict.fromkeys(raws)
    by_hash = {security.hash_token(raw): raw for raw in raws if raw.startswith(TOKEN_PREFIX + "_")}
    if not by_hash:
        return found
    rows = session.execute(
        select(
            CustomerSession.id,
            CustomerSession.token_hash,
            CustomerSession.touchpoint,
            CustomerSession.expires_at,
            Customer.id.label("customer_id"),
            Customer.status,
        )
        .join(Customer, Customer.id == CustomerSession.customer_id)
        .where(CustomerSession.token_hash.in_(list(by_hash)))
    ).all()
    now = clock.now()
    for row in rows:
        raw = by_hash[row.token_hash]
        if row.expires_at <= now or row.status == CustomerStatus.ERASED:
            continue
        if row.status == CustomerStatus.MERGED:
            found[raw] = resolve_token(session, raw)
            continue
        found[raw] = ShopCustomer(row.customer_id, row.id, row.touchpoint)
    return found


class BatchResolver:
    """One thread; ``await resolve(raw)`` joins the next batch."""

    def __init__(self, open_session: Callable[[], Session]) -> None:
        self._open_session = open_session
        self._queue: queue.SimpleQueue[tuple[str, Future[ShopCustomer | None]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="storefront-tokens", daemon=True
                    )
                    self._thread.start()

    async def resolve(self, raw: str) -> ShopCustomer | None:
        self._start()
        future: Future[ShopCustomer | None] = Future()
        self._queue.put((raw, future))
        return await asyncio.wrap_future(future)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self._open_session() as session:
                    found = resolve_tokens(session, list({raw for raw, _future in batch}))
                    session.connection().close()
            except Exception as error:
                logger.exception("resolving storefront tokens failed")
                for _raw, future in batch:
                    future.set_exception(error)
                continue
            for raw, future in batch:
                future.set_result(found.get(raw))


class TokenCache:
    """``await customer_for(raw)``: the cached customer behind a token (None when the
    token is invalid, which is cached as well)."""

    def __init__(self, open_session: Callable[[], Session]) -> None:
        self.resolver = BatchResolver(open_session)
        self._held: dict[str, tuple[float, ShopCustomer | None]] = {}

    async def customer_for(self, raw: str | None) -> ShopCustomer | None:
        if not raw:
            return None
        now = time.monotonic()
        held = self._held.get(raw)
        if held is not None and held[0] > now:
            return held[1]
        customer = await self.resolver.resolve(raw)
        if len(self._held) > CACHE_LIMIT:
            self._held.clear()
        self._held[raw] = (now + TOKEN_TTL_SECONDS, customer)
        return customer


def token_cache_for(app: Any) -> TokenCache:
    """The app's one token cache, shared by its plain ASGI routes (a buyer who
    reserves in a flash sale and claims a coupon is looked up once). A new one when
    the app's database changed (tests reuse one app over many databases)."""
    state = app.state
    cache: TokenCache | None = getattr(state, "token_cache", None)
    if cache is None or getattr(state, "token_cache_factory", None) is not state.session_factory:
        factory = state.session_factory
        cache = TokenCache(lambda: read_only_session(factory))
        state.token_cache = cache
        state.token_cache_factory = state.session_factory
    return cache
