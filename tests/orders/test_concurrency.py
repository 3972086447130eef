"""Stock never oversells and a payment never applies twice, under real concurrency.

These commit for real (``session_factory``), one transaction per thread, on SQLite
(writers serialised by BEGIN IMMEDIATE) and PostgreSQL (row locks on the conditional
updates).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.catalog import stock
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.order import Order, OrderStatus
from siyu.models.outbox import OutboxEvent
from siyu.models.payment import Payment, PaymentNotification
from siyu.models.stock import StockLevel
from siyu.orders.payments import service as payment_service
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import make_shelf, order_items, pay, place_order, sandbox

THREADS = 200
LAST_UNITS = 10


def test_two_hundred_buyers_race_for_the_last_ten_units(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(9900,), warehouse_stock=LAST_UNITS, store_stock=0)
        sku_id, warehouse_id = shelf.skus[0].id, shelf.warehouse.id
        customer_ids = [make_customer(session, cipher).id for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def buy(customer_id: int) -> str:
        barrier.wait()
        try:
            with transaction(session_factory) as session:
                order, _ = place_order(
                    session,
                    cipher,
                    settings,
                    customer_id=customer_id,
                    items=order_items((session.get_one(type(shelf.skus[0]), sku_id), 1)),
                )
                # Half the winners pay at once: paid and reserved units both count.
                if customer_id % 2 == 0:
                    pay(session, settings, order)
            return "ordered"
        except SiyuError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = Counter(pool.map(buy, customer_ids))
    assert outcomes == {"ordered": LAST_UNITS, "stock.insufficient": THREADS - LAST_UNITS}
    with transaction(session_factory) as session:
        level = session.get_one(StockLevel, (sku_id, warehouse_id))
        paid = session.scalar(
            select(func.count()).select_from(Order).where(Order.status == OrderStatus.PAID)
        )
        # Paid units left the shelf; the rest are reserved; nothing more was promised.
        assert level.on_hand + (paid or 0) == LAST_UNITS
        assert level.reserved + (paid or 0) == LAST_UNITS
        assert stock.audit(session) == []


def test_the_same_notification_delivered_concurrently_pays_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session)
        customer = make_customer(session, cipher)
        order, _ = place_order(
            session,
            cipher,
            settings,
            customer_id=customer.id,
            items=order_items((shelf.skus[0], 1)),
        )
        pending = payment_service.open_payment(
            session, order, provider="sandbox", settings=settings
        )
        order_id = order.id
    provider = sandbox()
    headers, body = provider.notification(
        out_trade_no=pending.request.out_trade_no,
        amount=pending.request.amount,
        notification_id="wx-notify-1",
    )
    # Different notification ids for the same payment also must not pay twice.
    other_headers, other_body = provider.notification(
        out_trade_no=pending.request.out_trade_no, amount=pending.request.amount
    )
    deliveries = [(headers, body)] * 6 + [(other_headers, other_body)] * 2
    barrier = threading.Barrier(len(deliveries))

    def deliver(item: tuple[dict[str, str], bytes]) -> str:
        barrier.wait()
        notice = provider.parse_notification(*item)
        try:
            with transaction(session_factory) as session:
                return payment_service.apply_notice(session, notice).value
        except Exception as error:  # reported, so the assertion shows it
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        outcomes = Counter(pool.map(deliver, deliveries))
    assert outcomes == {"applied": 1, "duplicate": len(deliveries) - 1}
    with transaction(session_factory) as session:
        refreshed = session.get_one(Order, order_id)
        assert refreshed.status == OrderStatus.PAID
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.name == "order.paid")
            )
            == 1
        )
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
        assert session.scalar(select(func.count()).select_from(PaymentNotification)) == 2
