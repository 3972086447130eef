"""The order state machine end to end through the services, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core import jobs
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.job import Job
from siyu.models.location import LocationKind
from siyu.models.order import Fulfilment, OrderStatus, OrderTransition
from siyu.models.outbox import OutboxEvent
from siyu.models.payment import NotificationOutcome, Payment, PaymentStatus
from siyu.models.stock import StockLevel
from siyu.orders import lifecycle
from siyu.orders.payments import service as payment_service
from tests.catalog.factories import make_location, make_store_price, put_stock
from tests.customers.factories import make_customer
from tests.orders.factories import make_shelf, order_items, pay, place_order, sandbox


def _level(session: Session, sku_id: int, location_id: int) -> tuple[int, int]:
    row = session.execute(
        select(StockLevel.on_hand, StockLevel.reserved).where(
            StockLevel.sku_id == sku_id, StockLevel.location_id == location_id
        )
    ).one()
    return row.on_hand, row.reserved


def _events(session: Session) -> list[str]:
    return list(session.scalars(select(OutboxEvent.name).order_by(OutboxEvent.id)))


def test_checkout_reserves_stock_and_prices_add_up(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    order, lines = place_order(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=order_items((shelf.skus[0], 2), (shelf.skus[1], 1)),
    )
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.items_amount == 12900 * 2 + 5900
    # 31,700 fen is above the 99-yuan free-shipping threshold.
    assert order.shipping_amount == 0
    assert order.total_amount == sum(line.payable_amount for line in lines) == 31700
    assert [line.location_id for line in lines] == [shelf.warehouse.id] * 2
    assert _level(session, shelf.skus[0].id, shelf.warehouse.id) == (100, 2)
    assert "order.created" in _events(session)
    assert stock.audit(session) == []
    job = session.scalars(select(Job).where(Job.task == lifecycle.EXPIRE_TASK)).one()
    assert job.run_at == order.payment_deadline


def test_shipping_fee_is_split_over_lines_and_sums(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(3333, 1111))
    customer = make_customer(session, cipher)
    order, lines = place_order(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=order_items((shelf.skus[0], 1), (shelf.skus[1], 1)),
    )
    assert order.shipping_amount == 1000
    assert [line.shipping_amount for line in lines] == [750, 250]
    for line in lines:
        assert sum(step["amount"] for step in line.price_breakdown) == line.payable_amount
    assert order.total_amount == 3333 + 1111 + 1000


def test_pay_commits_stock_and_duplicate_notification_pays_once(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    order, _ = place_order(
        session, cipher, settings, customer_id=customer.id, items=order_items((shelf.skus[0], 3))
    )
    assert pay(session, settings, order, notification_id="n-1") == NotificationOutcome.APPLIED
    assert pay(session, settings, order, notification_id="n-1") == NotificationOutcome.DUPLICATE
    session.refresh(order)
    assert order.status == OrderStatus.PAID
    assert order.paid_amount == order.total_amount
    assert _level(session, shelf.skus[0].id, shelf.warehouse.id) == (97, 0)
    assert _events(session).count("order.paid") == 1
    assert stock.audit(session) == []


def test_amount_mismatch_is_rejected_and_flagged(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    order, _ = place_order(
        session, cipher, settings, customer_id=customer.id, items=order_items((shelf.skus[0], 1))
    )
    outcome = pay(session, settings, order, amount=order.total_amount - 1)
    assert outcome == NotificationOutcome.REJECTED
    session.refresh(order)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert "payment.flagged" in _events(session)


def test_unpaid_order_expires_and_late_payment_is_refunded(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    order, _ = place_order(
        session, cipher, settings, customer_id=customer.id, items=order_items((shelf.skus[0], 2))
    )
    pending = payment_service.open_payment(session, order, provider="sandbox", settings=settings)
    frozen_clock.advance(timedelta(minutes=settings.order_payment_minutes + 1))
    lifecycle.expire_unpaid(session, {"order_id": order.id})
    session.refresh(order)
    assert order.status == OrderStatus.CANCELLED
    assert _level(session, shelf.skus[0].id, shelf.warehouse.id) == (100, 0)
    payment = session.get(Payment, pending.payment_id)
    assert payment is not None
    assert payment.status == PaymentStatus.CLOSED
    # The money arrives anyway: it goes back, the order stays cancelled.
    provider = sandbox()
    headers, body = provider.notification(out_trade_no=payment.public_id, amount=payment.amount)
    outcome = payment_service.apply_notice(session, provider.parse_notification(headers, body))
    assert outcome == NotificationOutcome.REFUNDED_LATE
    session.refresh(order)
    assert order.status == OrderStatus.CANCELLED
    assert (
        session.scalar(select(func.count()).select_from(Job).where(Job.task == "refund.submit"))
        == 1
    )


def test_paying_a_cancelled_order_is_refused_and_changes_nothing(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    order, _ = place_order(
        session, cipher, settings, customer_id=customer.id, items=order_items((shelf.skus[0], 1))
    )
    lifecycle.cancel(session, order, actor="customer", reason="changed mind")
    with pytest.raises(SiyuError) as caught:
        payment_service.open_payment(session, order, provider="sandbox", settings=settings)
    assert caught.value.code == "payment.not_allowed"
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_ship_deliver_complete_finalise(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    order, _ = place_order(
        session, cipher, settings, customer_id=customer.id, items=order_items((shelf.skus[0], 1))
    )
    pay(session, settings, order)
    session.refresh(order)
    lifecycle.ship(
        session, order, actor="staff:ops", carrier="顺丰", tracking_number="SF1", settings=settings
    )
    frozen_clock.advance(timedelta(days=settings.order_auto_complete_days, seconds=1))
    lifecycle.auto_complete(session, {"order_id": order.id})
    session.refresh(order)
    assert order.status == OrderStatus.COMPLETED
    frozen_clock.advance(timedelta(days=settings.order_return_window_days, seconds=1))
    lifecycle.finalise_after_return_window(session, {"order_id": order.id})
    session.refresh(order)
    assert order.final_at is not None
    transitions = list(
        session.scalars(
            select(OrderTransition.to_status)
            .where(OrderTransition.order_id == order.id)
            .order_by(OrderTransition.id)
        )
    )
    assert transitions == ["pending_payment", "paid", "shipped", "delivered", "completed"]
    names = _events(session)
    for name in ("order.shipped", "order.delivered", "order.completed", "order.finalised"):
        assert names.count(name) == 1


def test_pickup_order_reserves_at_the_store_with_its_price(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    make_store_price(session, sku=shelf.skus[0], location=shelf.store, price=9900)
    customer = make_customer(session, cipher)
    order, lines = place_order(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=order_items((shelf.skus[0], 1)),
        fulfilment=Fulfilment.PICKUP,
        pickup_store_id=shelf.store.id,
    )
    assert lines[0].unit_price == 9900
    assert lines[0].price_breakdown[0]["kind"] == "store_price"
    assert order.shipping_amount == 0
    assert _level(session, shelf.skus[0].id, shelf.store.id) == (10, 1)
    pay(session, settings, order)
    session.refresh(order)
    lifecycle.deliver(session, order, actor="staff:store", settings=settings)
    assert order.status == OrderStatus.COMPLETED


def test_jobs_registered_for_the_worker() -> None:
    from siyu import handlers

    handlers.load_all()
    names = jobs.default_registry().names()
    for task in (
        "order.expire",
        "order.auto_complete",
        "order.finalise",
        "payment.close",
        "refund.submit",
    ):
        assert task in names


def test_delivery_stock_comes_from_the_best_location_that_has_enough(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, warehouse_stock=1, store_stock=0)
    shelf.warehouse.fulfilment_priority = 1
    second = make_location(
        session, name="华南仓", kind=LocationKind.WAREHOUSE, accepts_pickup=False, ships_online=True
    )
    second.fulfilment_priority = 2
    put_stock(session, sku=shelf.skus[0], location=second, quantity=10)
    put_stock(session, sku=shelf.skus[1], location=second, quantity=10)
    customer = make_customer(session, cipher)
    _, lines = place_order(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=order_items((shelf.skus[0], 3), (shelf.skus[1], 1)),
    )
    # Three units are more than the first warehouse has; one unit fits there.
    assert [line.location_id for line in lines] == [second.id, shelf.warehouse.id]
    assert _level(session, shelf.skus[0].id, second.id) == (10, 3)
    assert _level(session, shelf.skus[1].id, shelf.warehouse.id) == (1, 1)
    assert stock.audit(session) == []
