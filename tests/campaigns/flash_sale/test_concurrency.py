"""2,000 concurrent buyers for 100 units, on every engine: exactly 100 reservations
and 100 orders, nobody over the limit, stock never negative, the audit balanced.

Real commits and threads. SQLite and PostgreSQL run the database engine through its
real path (the group-commit writer) and through one transaction per buyer; Redis runs
the Lua engine, then the drain and the order placer.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import redis
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import audit, orders
from siyu.campaigns.flash_sale.engines import RedisStock, ReserveRequest, reserve_in_database
from siyu.campaigns.flash_sale.group_commit import GroupCommitWriter
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.customer import Customer
from siyu.models.flash_sale import FlashSaleItem, FlashSaleSession, FlashSaleTally
from siyu.models.order import Order
from tests.campaigns.flash_sale.factories import ADDRESS, Sale, make_sale, request_for

BUYERS = 1000
ATTEMPTS_EACH = 2  # 2,000 requests: every buyer clicks twice
STOCK = 100
THREADS = 100


def _customers(session: Session, count: int) -> list[int]:
    now = clock.now()
    session.execute(
        insert(Customer),
        [{"consent": {}, "created_at": now, "updated_at": now} for _ in range(count)],
    )
    return list(session.scalars(select(Customer.id).order_by(Customer.id.desc()).limit(count)))


def _setup(
    factory: sessionmaker[Session], cipher: PiiCipher, engine: str
) -> tuple[Sale, list[ReserveRequest]]:
    with transaction(factory) as session:
        sale = make_sale(session, stock=STOCK, limit=1, engine=engine)
        buyers = _customers(session, BUYERS)
    address = orders.encrypt_address(cipher, dict(ADDRESS))
    requests = [
        replace(request_for(sale, buyer), address_encrypted=address)
        for buyer in buyers
        for _ in range(ATTEMPTS_EACH)
    ]
    return sale, requests


def _race(
    requests: list[ReserveRequest], attempt: Callable[[ReserveRequest], None]
) -> Counter[str]:
    barrier = threading.Barrier(THREADS)
    lanes = [requests[index::THREADS] for index in range(THREADS)]

    def run(lane: list[ReserveRequest]) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        barrier.wait()
        for request in lane:
            try:
                attempt(request)
                outcomes["ok"] += 1
            except SiyuError as error:
                outcomes[error.code] += 1
        return outcomes

    total: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for outcome in pool.map(run, lanes):
            total.update(outcome)
    return total


def _check_outcome(
    factory: sessionmaker[Session],
    cipher: PiiCipher,
    settings: Settings,
    sale: Sale,
    outcomes: Counter[str],
    stock: RedisStock | None = None,
) -> None:
    assert outcomes["ok"] == STOCK
    assert set(outcomes) <= {"ok", "flash_sale.sold_out", "flash_sale.limit_reached"}
    assert sum(outcomes.values()) == BUYERS * ATTEMPTS_EACH
    if stock is not None:
        assert stock.stock_of(sale.item.id) == 0
        assert orders.drain(factory, stock) == STOCK
    while True:
        with transaction(factory) as session:
            ordered, failed = orders.place_orders(session, cipher, settings, limit=50)
        assert failed == 0
        if ordered == 0:
            break
    with transaction(factory) as session:
        item = session.get(FlashSaleItem, sale.item.id)
        assert item is not None
        assert item.stock_left == 0
        assert session.scalar(select(func.count()).select_from(Order)) == STOCK
        assert session.scalar(select(func.max(FlashSaleTally.quantity))) == 1
        assert session.scalar(select(func.sum(FlashSaleTally.quantity))) == STOCK
        row = session.get(FlashSaleSession, sale.session.id)
        assert row is not None
        report = audit.check(session, row, stock)
        assert report.balanced
        assert [(line.stock_left, line.reserved, line.sold) for line in report.items] == [
            (0, STOCK, 0)
        ]


def test_database_engine_through_the_group_commit_writer(
    session_factory: sessionmaker[Session], cipher: PiiCipher, settings: Settings
) -> None:
    sale, requests = _setup(session_factory, cipher, "database")
    writer = GroupCommitWriter(session_factory)
    started = time.monotonic()
    try:
        outcomes = _race(requests, lambda request: writer.submit(request).result(timeout=30))
    finally:
        writer.stop()
    assert time.monotonic() - started < 30
    # Batches did form: fewer commits than requests.
    assert writer.batches < BUYERS * ATTEMPTS_EACH
    _check_outcome(session_factory, cipher, settings, sale, outcomes)


def test_database_engine_one_transaction_per_buyer(
    session_factory: sessionmaker[Session], cipher: PiiCipher, settings: Settings
) -> None:
    sale, requests = _setup(session_factory, cipher, "database")

    def attempt(request: ReserveRequest) -> None:
        with transaction(session_factory) as session:
            reserve_in_database(session, request)

    _check_outcome(session_factory, cipher, settings, sale, _race(requests, attempt))


def test_redis_engine(
    session_factory: sessionmaker[Session],
    cipher: PiiCipher,
    settings: Settings,
    redis_url: str,
) -> None:
    sale, requests = _setup(session_factory, cipher, "redis")
    client = redis.Redis.from_url(redis_url, max_connections=THREADS * 2)
    stock = RedisStock(client)
    try:
        assert stock.load(sale.item.id, STOCK, {})
        outcomes = _race(requests, stock.reserve)  # type: ignore[arg-type]
        _check_outcome(session_factory, cipher, settings, sale, outcomes, stock)
    finally:
        client.close()
