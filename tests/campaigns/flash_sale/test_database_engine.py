"""The database engine and the reservation → order → payment flow, on both engines."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import audit, orders
from siyu.campaigns.flash_sale.engines import ReserveRequest, reserve_in_database
from siyu.campaigns.flash_sale.errors import LimitReached, SoldOut
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.flash_sale import FlashSaleItem, ReservationStatus
from siyu.models.order import Order, OrderStatus
from siyu.orders import lifecycle
from tests.campaigns.flash_sale.factories import (
    ADDRESS,
    count_reservations,
    deliver,
    make_sale,
    request_for,
    reservations,
    stock_left,
    tally,
)
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import pay


def _with_address(cipher: PiiCipher, request: ReserveRequest) -> ReserveRequest:
    return replace(request, address_encrypted=orders.encrypt_address(cipher, dict(ADDRESS)))


def test_reserve_takes_stock_tally_and_writes_a_reservation(
    session: Session, cipher: PiiCipher
) -> None:
    sale = make_sale(session, stock=3, limit=2)
    buyer = make_customer(session, cipher)
    reserve_in_database(session, request_for(sale, buyer.id, quantity=2))
    assert stock_left(session, sale.item.id) == 1
    assert tally(session, sale.item.id, buyer.id) == 2
    [row] = reservations(session, sale.item.id)
    assert (row.status, row.quantity, row.unit_price, row.engine) == (
        "reserved",
        2,
        990,
        "database",
    )


def test_over_the_limit_and_sold_out_change_nothing(session: Session, cipher: PiiCipher) -> None:
    sale = make_sale(session, stock=2, limit=1)
    first, second, third = (make_customer(session, cipher) for _ in range(3))
    reserve_in_database(session, request_for(sale, first.id))
    with pytest.raises(LimitReached), session.begin_nested():
        reserve_in_database(session, request_for(sale, first.id))
    assert (stock_left(session, sale.item.id), tally(session, sale.item.id, first.id)) == (1, 1)
    reserve_in_database(session, request_for(sale, second.id))
    with pytest.raises(SoldOut), session.begin_nested():
        reserve_in_database(session, request_for(sale, third.id))
    assert stock_left(session, sale.item.id) == 0
    assert tally(session, sale.item.id, third.id) == 0
    assert count_reservations(session) == 2


def test_quantity_above_the_limit_is_refused_on_a_fresh_tally(
    session: Session, cipher: PiiCipher
) -> None:
    sale = make_sale(session, stock=5, limit=1)
    buyer = make_customer(session, cipher)
    with pytest.raises(LimitReached), session.begin_nested():
        reserve_in_database(session, request_for(sale, buyer.id, quantity=2))
    assert stock_left(session, sale.item.id) == 5
    assert count_reservations(session) == 0


def test_reservation_becomes_an_order_at_the_campaign_price_and_is_sold_when_paid(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    sale = make_sale(session, stock=5, limit=1, price=990)
    buyer = make_customer(session, cipher)
    reserve_in_database(session, _with_address(cipher, request_for(sale, buyer.id)))
    assert orders.place_orders(session, cipher, settings) == (1, 0)
    [row] = reservations(session, sale.item.id)
    assert row.status == ReservationStatus.ORDERED
    order = session.get(Order, row.order_id)
    assert order is not None
    assert (order.items_amount, order.discount_amount, order.campaign_id, order.status) == (
        5900,
        4910,
        sale.campaign.id,
        OrderStatus.PENDING_PAYMENT,
    )
    assert order.total_amount == 990 + settings.shipping_fee
    pay(session, settings, order)
    deliver(session)
    deliver(session)  # idempotent
    session.refresh(row)
    assert row.status == ReservationStatus.PAID
    report = audit.check(session, sale.session, None)
    assert report.balanced
    assert [(item.stock_left, item.sold, item.reserved) for item in report.items] == [(4, 1, 0)]
    # Placing again finds nothing.
    assert orders.place_orders(session, cipher, settings) == (0, 0)


def test_an_unpaid_order_timing_out_gives_the_unit_and_the_allowance_back(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    sale = make_sale(session, stock=1, limit=1)
    buyer = make_customer(session, cipher)
    reserve_in_database(session, _with_address(cipher, request_for(sale, buyer.id)))
    orders.place_orders(session, cipher, settings)
    [row] = reservations(session, sale.item.id)
    order = session.get(Order, row.order_id)
    assert order is not None
    lifecycle.cancel(session, order, actor="system", reason="payment timeout")
    deliver(session)
    deliver(session)
    session.refresh(row)
    assert row.status == ReservationStatus.RELEASED
    assert stock_left(session, sale.item.id) == 1
    assert tally(session, sale.item.id, buyer.id) == 0
    assert audit.check(session, sale.session, None).balanced
    # The buyer may try again.
    reserve_in_database(session, request_for(sale, buyer.id))
    assert stock_left(session, sale.item.id) == 0


def test_an_order_that_cannot_be_written_fails_and_returns_its_unit(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    sale = make_sale(session, stock=3, limit=1, warehouse_stock=1)
    buyers = [make_customer(session, cipher) for _ in range(2)]
    for buyer in buyers:
        reserve_in_database(session, _with_address(cipher, request_for(sale, buyer.id)))
    # The warehouse holds one unit: the second order cannot reserve it.
    assert orders.place_orders(session, cipher, settings) == (1, 1)
    first, second = reservations(session, sale.item.id)
    assert first.status == ReservationStatus.ORDERED
    assert (second.status, second.failure_code, second.order_id) == (
        "failed",
        "stock.insufficient",
        None,
    )
    assert stock_left(session, sale.item.id) == 2
    assert tally(session, sale.item.id, buyers[1].id) == 0
    assert session.scalars(select(Order)).all() == [session.get(Order, first.order_id)]
    assert audit.check(session, sale.session, None).balanced


def test_counters_report_stock_reserved_sold_orders_and_gmv(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    from siyu.campaigns.registry import counters

    sale = make_sale(session, stock=4, limit=1, price=1000)
    buyers = [make_customer(session, cipher) for _ in range(2)]
    for buyer in buyers:
        reserve_in_database(session, _with_address(cipher, request_for(sale, buyer.id)))
    orders.place_orders(session, cipher, settings)
    first = reservations(session, sale.item.id)[0]
    order = session.get(Order, first.order_id)
    assert order is not None
    pay(session, settings, order)
    deliver(session)
    figures = counters.for_campaigns(session, [sale.campaign])[sale.campaign.id]
    assert figures == {
        "stock_left": 2,
        "reserved": 1,
        "sold": 1,
        "orders": 2,
        "gmv_amount": 1000,
    }


def test_stock_constraint_refuses_negative_stock(session: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    sale = make_sale(session, stock=1)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            update(FlashSaleItem).where(FlashSaleItem.id == sale.item.id).values(stock_left=-1)
        )


def test_the_sweep_job_writes_orders_and_runs_again_while_live(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: clock.FrozenClock
) -> None:
    from siyu.campaigns.flash_sale import tasks
    from siyu.core.db import transaction
    from siyu.models.job import Job

    cipher = make_cipher()
    with transaction(session_factory) as session:
        sale = make_sale(session, stock=5, limit=1)
        buyer = make_customer(session, cipher)
        reserve_in_database(session, _with_address(cipher, request_for(sale, buyer.id)))

    def run_job() -> None:
        # As the job runner does: a fresh session, committed after the task.
        with transaction(session_factory) as session:
            tasks.sweep(session, {"session_id": sale.session.id})

    run_job()
    with transaction(session_factory) as session:
        [row] = reservations(session, sale.item.id)
        assert row.status == ReservationStatus.ORDERED
        again = session.scalars(
            select(Job).where(Job.task == tasks.SWEEP_TASK).order_by(Job.run_at)
        ).all()
        # The chain publishing scheduled for the start, and its next run.
        assert [job.run_at for job in again] == [
            sale.session.starts_at,
            frozen_clock.now() + tasks.SWEEP_EVERY,
        ]
    # After the end (and its minute of grace) with nothing left, it stops.
    frozen_clock.set(sale.session.ends_at + timedelta(minutes=2))
    run_job()
    with transaction(session_factory) as session:
        assert len(session.scalars(select(Job).where(Job.task == tasks.SWEEP_TASK)).all()) == 2


def test_the_audit_command(session_factory: sessionmaker[Session], settings: Settings) -> None:
    from typer.testing import CliRunner

    from siyu.cli import app
    from siyu.core.db import transaction

    with transaction(session_factory) as session:
        sale = make_sale(session, stock=4)
        buyer = make_customer(session, make_cipher())
        reserve_in_database(session, request_for(sale, buyer.id))
    environment = {
        "SIYU_DATABASE_URL": settings.database_url,
        "SIYU_SECRET_KEY": "x" * 40,
        "SIYU_REDIS_URL": "",
    }
    from siyu.core.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["flash-sale", "audit", sale.session.public_id], env=environment
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"{sale.item.public_id}: start=4 left=3 sold=0 reserved=1" in result.output
    assert result.output.strip().endswith("(database): balanced")
    with transaction(session_factory) as session:
        # Break the invariant behind the service's back: the command says so and fails.
        session.execute(
            update(FlashSaleItem).where(FlashSaleItem.id == sale.item.id).values(stock_left=2)
        )
    get_settings.cache_clear()
    try:
        broken = CliRunner().invoke(
            app, ["flash-sale", "audit", sale.session.public_id], env=environment
        )
    finally:
        get_settings.cache_clear()
    assert broken.exit_code == 1
    assert "NOT BALANCED" in broken.output
