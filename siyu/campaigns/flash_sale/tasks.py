"""What the flash sale registers at start-up: the placement handler, live counters,
order event handlers and its jobs.

* ``order.paid``: the reservation is sold (``ordered`` → ``paid``).
* ``order.cancelled`` (unpaid order cancelled or timed out): released, its units go
  back (database now; Redis through ``flash_sale.return_units``).
Both are idempotent: conditional on the reservation's status.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns import pricing
from siyu.campaigns.flash_sale import orders, service
from siyu.campaigns.flash_sale.engines import RedisStock
from siyu.campaigns.registry import counters
from siyu.core import clock, jobs, settings
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.outbox import DomainEvent, handler
from siyu.models.flash_sale import (
    FlashSaleItem,
    FlashSaleReservation,
    FlashSaleSession,
    ReservationStatus,
    StockEngine,
)
from siyu.orders import events

SWEEP_TASK = service.SWEEP_TASK
SWEEP_AFTER = timedelta(minutes=1)
SWEEP_EVERY = timedelta(seconds=1)
LIVE_BUDGET = timedelta(milliseconds=200)
AFTER_BUDGET = timedelta(seconds=5)


@lru_cache(maxsize=4)
def _redis_stock(url: str) -> RedisStock:
    return RedisStock(redis.Redis.from_url(url))


def redis_stock_for(client: redis.Redis | None) -> RedisStock | None:
    return RedisStock(client) if client is not None else None


def redis_stock() -> RedisStock | None:
    url = settings.current().redis_url
    return _redis_stock(url) if url else None


@handler(events.ORDER_PAID, name="flash_sale.order_paid")
def on_order_paid(session: Session, event: DomainEvent) -> None:
    if event.payload.get("campaign_id") is None:
        return
    orders.release(session, int(event.payload["order_id"]), to=ReservationStatus.PAID)


@handler(events.ORDER_CANCELLED, name="flash_sale.order_cancelled")
def on_order_cancelled(session: Session, event: DomainEvent) -> None:
    if event.payload.get("campaign_id") is None:
        return
    orders.release(session, int(event.payload["order_id"]), to=ReservationStatus.RELEASED)


@jobs.task(orders.RETURN_TASK, max_attempts=20)
def return_units(session: Session, payload: dict[str, Any]) -> None:
    row = session.get(FlashSaleReservation, int(payload["reservation_id"]))
    if row is None or row.engine != StockEngine.REDIS:
        return
    stock = redis_stock()
    if stock is None:
        raise RuntimeError("the Redis engine's units need SIYU_REDIS_URL to go back")
    orders.return_units(session, stock, row.id)


def write_pending(
    factory: sessionmaker[Session], *, seconds: float, batch: int = 10
) -> tuple[int, bool]:
    """Drain Redis and write orders in short transactions for about ``seconds``;
    returns (reservations handled, whether work is left). Short transactions: on
    SQLite every one holds the single writer lock the buyers' reservations need."""
    current = settings.current()
    cipher = PiiCipher(current.resolved_secret_key())
    stock = redis_stock()
    deadline = time.monotonic() + seconds
    handled = 0
    while True:
        drained = orders.drain(factory, stock, max_batches=1) if stock is not None else 0
        with transaction(factory) as session:
            ordered, failed = orders.place_orders(session, cipher, current, limit=batch)
        handled += drained + ordered + failed
        left = drained > 0 or ordered + failed == batch
        if not left or time.monotonic() >= deadline:
            return handled, left


@jobs.task(SWEEP_TASK, max_attempts=20)
def sweep(session: Session, payload: dict[str, Any]) -> None:
    """Drain what Redis queues and write the orders waiting; while the session is
    live (or anything is left) run again. Any worker process runs it, so a server
    busy with buyers (or one that crashed) never holds orders back. While the session
    is live and not sold out each run works at most ``LIVE_BUDGET`` a second: the
    buyers come first."""
    row = session.get(FlashSaleSession, int(payload["session_id"]))
    if row is None:
        return
    live = clock.now() < row.ends_at
    # Sold out: the crowd has nothing left to take, their orders come first now.
    selling = live and bool(
        session.scalar(
            select(func.sum(FlashSaleItem.stock_left)).where(FlashSaleItem.session_id == row.id)
        )
    )
    session.rollback()  # what follows runs in transactions of its own
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    _handled, left = write_pending(
        factory, seconds=(LIVE_BUDGET if selling else AFTER_BUDGET).total_seconds()
    )
    now = clock.now()
    if left or now < row.ends_at + SWEEP_AFTER:
        moment = now + (SWEEP_EVERY if selling or not left else timedelta(0))
        jobs.enqueue(
            session,
            SWEEP_TASK,
            payload,
            run_at=moment,
            idempotency_key=f"{SWEEP_TASK}:{row.id}:{moment.isoformat()}",
        )


counters.register(service.KIND, service.counters)
pricing.register_placed(service.KIND, orders.on_placed)
