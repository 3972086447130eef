"""The Redis engine: one Lua step, the drain (crash-safe, idempotent) and returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import audit, orders
from siyu.campaigns.flash_sale.engines import RedisStock
from siyu.campaigns.flash_sale.errors import LimitReached, SoldOut
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.models.flash_sale import FlashSaleSession, ReservationStatus
from siyu.models.order import Order
from siyu.orders import lifecycle
from tests.campaigns.flash_sale.factories import (
    ADDRESS,
    Sale,
    count_reservations,
    deliver,
    make_sale,
    request_for,
    reservations,
    stock_left,
    tally,
)
from tests.customers.factories import make_customer


@pytest.fixture
def stock(redis_url: str) -> Iterator[RedisStock]:
    client = redis.Redis.from_url(redis_url)
    yield RedisStock(client)
    client.close()


def _loaded(stock: RedisStock, sale: Sale) -> None:
    assert stock.load(sale.item.id, sale.item.stock_left, {})


def test_a_reservation_is_checked_taken_and_queued_in_one_step(
    session: Session, cipher: PiiCipher, stock: RedisStock
) -> None:
    sale = make_sale(session, stock=2, limit=1, engine="redis")
    buyer, other, late = (make_customer(session, cipher) for _ in range(3))
    # Not loaded yet: the caller loads from the database and retries.
    assert stock.reserve(request_for(sale, buyer.id)) is False
    _loaded(stock, sale)
    assert stock.load(sale.item.id, 99, {}) is False  # the first loader wins
    assert stock.reserve(request_for(sale, buyer.id)) is True
    with pytest.raises(LimitReached):
        stock.reserve(request_for(sale, buyer.id))
    assert stock.reserve(request_for(sale, other.id)) is True
    with pytest.raises(SoldOut):
        stock.reserve(request_for(sale, late.id))
    assert stock.stock_of(sale.item.id) == 0
    assert len(stock.queued()) == 2
    # Nothing in the database until the drain.
    assert count_reservations(session) == 0


def test_drain_writes_each_reservation_once_even_after_a_crash(
    session_factory: sessionmaker[Session],
    cipher: PiiCipher,
    settings: Settings,
    stock: RedisStock,
) -> None:
    with transaction(session_factory) as session:
        sale = make_sale(session, stock=10, limit=1, engine="redis")
        buyers = [make_customer(session, cipher).id for _ in range(5)]
    _loaded(stock, sale)
    for buyer in buyers:
        stock.reserve(request_for(sale, buyer))
    # A drain that moved three entries and died before its commit.
    assert len(stock.move_batch(3)) == 3
    assert (len(stock.queued()), len(stock.processing())) == (2, 3)
    with transaction(session_factory) as session:
        report = audit.check(session, session.get(FlashSaleSession, sale.session.id), stock)  # type: ignore[arg-type]
        assert report.balanced
        assert report.items[0].queued == 5
    assert orders.drain(session_factory, stock, batch=2) == 5
    assert (stock.queued(), stock.processing()) == ([], [])
    # A drain that committed and died before clearing: replaying changes nothing.
    with transaction(session_factory) as session:
        replay = reservations(session, sale.item.id)[0]
    stock.client.lpush(
        stock.keys.processing,
        replace(request_for(sale, replay.customer_id), public_id=replay.public_id).to_json(),
    )
    assert orders.drain(session_factory, stock) == 0
    assert stock.processing() == []
    with transaction(session_factory) as session:
        assert count_reservations(session) == 5
        assert stock_left(session, sale.item.id) == 5
        assert all(tally(session, sale.item.id, buyer) == 1 for buyer in buyers)
        report = audit.check(session, session.get(FlashSaleSession, sale.session.id), stock)  # type: ignore[arg-type]
        assert report.balanced
        assert (report.items[0].redis_stock, report.items[0].stock_left) == (5, 5)


def test_a_cancelled_order_returns_its_unit_to_redis_once(
    session_factory: sessionmaker[Session],
    cipher: PiiCipher,
    settings: Settings,
    stock: RedisStock,
) -> None:
    with transaction(session_factory) as session:
        sale = make_sale(session, stock=1, limit=1, engine="redis")
        buyer = make_customer(session, cipher).id
        late = make_customer(session, cipher).id
    _loaded(stock, sale)
    stock.reserve(
        replace(
            request_for(sale, buyer),
            address_encrypted=orders.encrypt_address(cipher, dict(ADDRESS)),
        )
    )
    with pytest.raises(SoldOut):
        stock.reserve(request_for(sale, late))
    orders.drain(session_factory, stock)
    with transaction(session_factory) as session:
        assert orders.place_orders(session, cipher, settings) == (1, 0)
    with transaction(session_factory) as session:
        [row] = reservations(session, sale.item.id)
        order = session.get(Order, row.order_id)
        assert order is not None
        lifecycle.cancel(session, order, actor="system", reason="payment timeout")
        deliver(session)
        deliver(session)
    with transaction(session_factory) as session:
        [row] = reservations(session, sale.item.id)
        assert row.status == ReservationStatus.RELEASED
        assert stock_left(session, sale.item.id) == 1
        # The database gave it back; Redis waits for the job.
        report = audit.check(session, session.get(FlashSaleSession, sale.session.id), stock)  # type: ignore[arg-type]
        assert report.balanced
        assert report.items[0].pending_returns == 1
        assert orders.return_units(session, stock, row.id) == 1
        assert orders.return_units(session, stock, row.id) == 0
    assert stock.stock_of(sale.item.id) == 1
    # The late buyer gets the returned unit.
    assert stock.reserve(request_for(sale, late)) is True
