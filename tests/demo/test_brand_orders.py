"""Demo orders are shaped exactly like checkout's: sums, statuses, stock, events."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings
from siyu.demo.brand.orders import allocate_shipping
from siyu.models.order import Order, OrderLine, OrderTransition
from siyu.models.outbox import OutboxEvent
from siyu.models.payment import Payment, Refund, RefundLine
from siyu.models.stock import StockMovement
from siyu.orders import events
from tests.demo.conftest import small_brand

PAID_STATUSES = {"paid", "shipped", "delivered", "completed", "refunded", "partially_refunded"}


def lines_by_order(session: Session) -> dict[int, list[OrderLine]]:
    result: dict[int, list[OrderLine]] = defaultdict(list)
    for line in session.scalars(select(OrderLine).order_by(OrderLine.order_id, OrderLine.line_no)):
        result[line.order_id].append(line)
    return result


def test_allocate_shipping_largest_remainder() -> None:
    assert allocate_shipping(1000, [3000, 3000, 3000]) == [334, 333, 333]
    assert allocate_shipping(1000, [1000, 2000]) == [333, 667]
    assert allocate_shipping(0, [500, 700]) == [0, 0]
    assert allocate_shipping(7, [1, 1, 1, 1]) == [2, 2, 2, 1]
    assert sum(allocate_shipping(999, [123, 4567, 89])) == 999


def test_every_order_adds_up(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings)
    orders = session.scalars(select(Order)).all()
    assert len(orders) > 100
    lines = lines_by_order(session)
    for order in orders:
        own = lines[order.id]
        assert [line.line_no for line in own] == list(range(1, len(own) + 1))
        assert order.items_amount == sum(line.base_amount for line in own)
        assert (
            order.total_amount == order.items_amount - order.discount_amount + order.shipping_amount
        )
        assert order.total_amount == sum(line.payable_amount for line in own)
        assert order.shipping_amount == sum(line.shipping_amount for line in own)
        assert order.item_count == sum(line.quantity for line in own)
        assert order.pricing_steps == ["base_price", "shipping"]
        expected_shipping = (
            test_settings.shipping_fee
            if order.fulfilment == "delivery"
            and order.items_amount < test_settings.free_shipping_threshold
            else 0
        )
        assert order.shipping_amount == expected_shipping
        assert order.payment_deadline == order.created_at + timedelta(minutes=30)
        for line in own:
            assert line.base_amount == line.unit_price * line.quantity
            assert (
                line.payable_amount
                == line.base_amount - line.discount_amount + line.shipping_amount
            )
            assert sum(step["amount"] for step in line.price_breakdown) == line.payable_amount
            assert line.price_breakdown[0]["step"] == "base_price"
            assert line.price_breakdown[0]["kind"] in {"sale_price", "store_price"}
            assert (len(line.price_breakdown) == 2) == (line.shipping_amount > 0)
            assert line.location_id is not None
        if order.source == "store":
            assert order.sales_channel == "store"
            assert order.store_id is not None
            assert order.pickup_location_id == order.store_id
        if order.status in PAID_STATUSES:
            assert order.paid_amount == order.total_amount
            assert order.paid_at is not None
        else:
            assert order.paid_amount == 0
            assert order.paid_at is None


def test_statuses_follow_the_clock(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings, customers=600)
    now = frozen_clock.now()
    orders = session.scalars(select(Order)).all()
    statuses = {order.status for order in orders}
    assert {"completed", "cancelled"} <= statuses
    assert statuses & {"refunded", "partially_refunded"}
    assert statuses & {"pending_payment", "paid", "shipped", "delivered"}
    for order in orders:
        moments = [
            order.created_at,
            order.paid_at,
            order.shipped_at,
            order.delivered_at,
            order.completed_at,
        ]
        present = [moment for moment in moments if moment is not None]
        assert present == sorted(present)
        assert present[-1] <= now
        if order.status == "pending_payment":
            assert order.payment_deadline is not None
            assert order.payment_deadline > now
        if order.status == "cancelled":
            assert order.cancelled_at == order.payment_deadline
            assert order.cancelled_at <= now
        if order.final_at is not None:
            assert order.completed_at is not None
            assert order.final_at == order.completed_at + timedelta(days=7)
            assert order.final_at <= now
        elif order.status == "completed":
            assert order.completed_at is not None
            assert order.completed_at + timedelta(days=7) > now
    transitions = session.execute(
        select(OrderTransition.order_id, func.count()).group_by(OrderTransition.order_id)
    ).all()
    assert len(transitions) == len(orders)


def test_payments_and_refunds(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings, customers=1000)
    orders = {order.id: order for order in session.scalars(select(Order))}
    payments = session.scalars(select(Payment)).all()
    paid = [order for order in orders.values() if order.status in PAID_STATUSES]
    assert len(payments) == len(paid)
    for payment in payments:
        order = orders[payment.order_id]
        assert payment.status == "succeeded"
        assert payment.amount == order.total_amount
        assert payment.provider == ("offline" if order.source == "store" else "sandbox")
    refunds = session.scalars(select(Refund)).all()
    assert refunds
    refund_lines = session.scalars(select(RefundLine)).all()
    lines = {line.id: line for line in session.scalars(select(OrderLine))}
    for refund in refunds:
        own = [line for line in refund_lines if line.refund_id == refund.id]
        assert refund.amount == sum(line.amount for line in own)
        assert refund.status == "succeeded"
        assert refund.requested_by == "customer"
        assert refund.reviewed_by == "staff:demo_ops"
        order = orders[refund.order_id]
        assert order.refunded_amount == refund.amount
        assert order.status in {"refunded", "partially_refunded"}
        assert (order.status == "refunded") == (refund.amount == order.paid_amount)
        assert order.resume_status in {"paid", "completed"}
        for refund_line in own:
            line = lines[refund_line.order_line_id]
            assert line.refunded_quantity == refund_line.quantity
            assert line.refunded_amount == refund_line.amount <= line.payable_amount
    assert any(order.status == "partially_refunded" for order in orders.values())


def test_stock_ledger_agrees_with_levels(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings)
    assert stock.audit(session) == []
    kinds = {
        kind: int(quantity)
        for kind, quantity in session.execute(
            select(StockMovement.kind, func.sum(StockMovement.quantity)).group_by(
                StockMovement.kind
            )
        )
    }
    sold = session.execute(
        select(func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(PAID_STATUSES))
    ).scalar_one()
    assert kinds["commit"] == sold
    assert (
        kinds["reserve"]
        == kinds["commit"]
        + kinds.get("release", 0)
        + session.execute(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status == "pending_payment")
        ).scalar_one()
    )


def expected_payload(order: Order, lines: list[OrderLine] | None, **moment: Any) -> dict[str, Any]:
    return {**events.order_payload(order, lines), **moment}


def test_domain_events_match_order_payload(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings)
    lines = lines_by_order(session)
    by_order: dict[int, dict[str, OutboxEvent]] = defaultdict(dict)
    for event in session.scalars(select(OutboxEvent)):
        assert event.status == "pending"
        assert event.occurred_at == event.available_at
        by_order[event.payload["order_id"]][event.name] = event
    for order in session.scalars(select(Order)):
        named = by_order[order.id]
        own = lines[order.id]
        created = named["order.created"]
        assert created.occurred_at == order.created_at
        assert created.payload == expected_payload(
            order,
            own,
            status="pending_payment",
            paid_amount=0,
            refunded_amount=0,
            actor="customer",
        )
        if order.paid_at is not None:
            provider = "offline" if order.source == "store" else "sandbox"
            assert named["order.paid"].occurred_at == order.paid_at
            assert named["order.paid"].payload == expected_payload(
                order,
                own,
                status="paid",
                refunded_amount=0,
                actor=f"payment:{provider}",
                reason="",
            )
        assert ("order.cancelled" in named) == (order.status == "cancelled")
        assert ("order.completed" in named) == (order.completed_at is not None)
        assert ("order.finalised" in named) == (order.final_at is not None)
        assert ("order.refunded" in named) == (order.refunded_amount > 0)
        if order.final_at is not None:
            assert named["order.finalised"].payload == expected_payload(
                order, own, actor="job:order.finalise"
            )
        if order.refunded_amount > 0:
            refunded = named["order.refunded"].payload
            assert refunded["refund_amount"] == order.refunded_amount
            assert refunded["is_full"] == (order.status == "refunded")
            assert refunded["status"] in {"refunded", "partially_refunded"}


def aggregates(session: Session) -> dict[str, Any]:
    def total(column: Any) -> int:
        return int(session.execute(select(func.coalesce(func.sum(column), 0))).scalar_one())

    return {
        "orders": session.execute(select(func.count(Order.id))).scalar_one(),
        "gmv": total(Order.total_amount),
        "refunded": total(Order.refunded_amount),
        "lines": session.execute(select(func.count(OrderLine.id))).scalar_one(),
        "units": total(OrderLine.quantity),
        "movements": total(StockMovement.quantity),
        "events": session.execute(select(func.count(OutboxEvent.id))).scalar_one(),
        "statuses": sorted(
            (status, n)
            for status, n in session.execute(
                select(Order.status, func.count()).group_by(Order.status)
            )
        ),
    }


def test_same_seed_same_brand(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    runs = []
    for seed in (11, 11, 12):
        savepoint = session.begin_nested()
        small_brand(session, test_settings, customers=200, seed=seed)
        runs.append(aggregates(session))
        savepoint.rollback()
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_repurchase_is_heterogeneous(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings, customers=1500, days=180)
    spend = sorted(
        (
            int(value)
            for value in session.scalars(
                select(func.sum(Order.paid_amount))
                .where(Order.paid_amount > 0)
                .group_by(Order.customer_id)
            )
        ),
        reverse=True,
    )
    counts = session.scalars(
        select(func.count()).where(Order.paid_amount > 0).group_by(Order.customer_id)
    ).all()
    buyers = len(spend)
    assert 0.25 * 1500 < buyers < 0.8 * 1500
    repeat_share = sum(1 for n in counts if n >= 2) / buyers
    assert 0.15 < repeat_share < 0.7
    # A long tail: the top fifth of buyers bring at least half of the money.
    top = spend[: buyers // 5]
    assert sum(top) >= 0.5 * sum(spend)
    assert max(counts) >= 6
