"""Points-mall exchanges: coupons at once, goods as mall orders; cancel and refund give
points, stock and tally back; every refusal is a 4xx that changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.members import points_mall_events
from siyu.members.points_mall_exchange import GoodsRequest, exchange_coupon, exchange_goods
from siyu.models.coupon import Coupon
from siyu.models.member import PointsExchange, PointsMallItem, PointsMallItemKind
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import Refund
from siyu.models.stock import StockLevel
from siyu.orders import checkout, events, lifecycle, refunds
from tests.members.mall_factories import (
    available_points,
    cipher,
    deliver,
    make_item,
    make_member,
    make_template,
    settings,
    tally,
)
from tests.orders.factories import ADDRESS, make_shelf, pay, sandbox

__all__ = ["cipher", "settings"]

GOODS = PointsMallItemKind.GOODS
DELIVERY = GoodsRequest(address=dict(ADDRESS), touchpoint="mp")


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _snapshot(session: Session, item: PointsMallItem, customer_id: int) -> tuple[int, ...]:
    session.refresh(item)
    return (
        item.stock_left,
        tally(session, item.id, customer_id),
        available_points(session, customer_id),
        _count(session, PointsExchange),
        _count(session, Coupon),
        _count(session, Order),
    )


def test_coupon_exchange_spends_points_and_issues_the_coupon(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    template = make_template(session)
    item = make_item(session, coupon_template_id=template.id, points_price=200, stock=10)
    member = make_member(session, cipher, points_balance=500)
    exchange = exchange_coupon(session, member.id, item)
    assert exchange.status == "completed"
    assert (exchange.points, exchange.cash_amount, exchange.quantity) == (200, 0, 1)
    coupon = session.get(Coupon, exchange.coupon_id)
    assert coupon is not None
    assert (coupon.customer_id, coupon.source, coupon.source_ref) == (
        member.id,
        "points_mall",
        exchange.public_id,
    )
    assert _snapshot(session, item, member.id) == (9, 1, 300, 1, 1, 0)


def test_refusals_change_nothing(session: Session, cipher: PiiCipher, settings: Settings) -> None:
    template = make_template(session)
    member = make_member(session, cipher, points_balance=250)
    now = clock.now()
    cases = [
        (
            make_item(session, coupon_template_id=template.id, points_price=300),
            "points.insufficient",
            409,
        ),
        (make_item(session, coupon_template_id=template.id, stock=0), "points_mall.sold_out", 409),
        (
            make_item(session, coupon_template_id=template.id, status="off"),
            "points_mall.not_available",
            409,
        ),
        (
            make_item(session, coupon_template_id=template.id, valid_from=now + timedelta(days=1)),
            "points_mall.not_started",
            409,
        ),
        (
            make_item(session, coupon_template_id=template.id, valid_until=now),
            "points_mall.ended",
            409,
        ),
        (
            make_item(session, coupon_template_id=template.id, min_tier_rank=99),
            "points_mall.tier_required",
            403,
        ),
    ]
    for item, code, status in cases:
        before = _snapshot(session, item, member.id)
        with pytest.raises(SiyuError) as refused:
            exchange_coupon(session, member.id, item)
        assert (refused.value.code, refused.value.status) == (code, status)
        assert _snapshot(session, item, member.id) == before


def test_per_member_limit(session: Session, cipher: PiiCipher, settings: Settings) -> None:
    template = make_template(session)
    item = make_item(session, coupon_template_id=template.id, points_price=10, per_member_limit=2)
    member = make_member(session, cipher, points_balance=100)
    other = make_member(session, cipher, points_balance=100)
    exchange_coupon(session, member.id, item)
    exchange_coupon(session, member.id, item)
    before = _snapshot(session, item, member.id)
    with pytest.raises(SiyuError) as refused:
        exchange_coupon(session, member.id, item)
    assert refused.value.code == "points_mall.limit_reached"
    assert _snapshot(session, item, member.id) == before == (8, 2, 80, 2, 2, 0)
    exchange_coupon(session, other.id, item)
    assert tally(session, item.id, other.id) == 1


def test_points_only_goods_become_a_paid_mall_order(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=20, store_stock=0)
    sku = shelf.skus[0]
    item = make_item(session, kind=GOODS, sku_id=sku.id, points_price=300, stock=5)
    member = make_member(session, cipher, points_balance=1000)
    exchange, order = exchange_goods(session, cipher, settings, member.id, item, 2, DELIVERY)
    assert order.status == OrderStatus.PAID
    assert (order.items_amount, order.discount_amount, order.shipping_amount) == (25800, 25800, 0)
    assert (order.total_amount, order.paid_amount, order.source) == (0, 0, "mall")
    assert (exchange.status, exchange.points, exchange.quantity, exchange.order_id) == (
        "completed",
        600,
        2,
        order.id,
    )
    line = lifecycle.lines_of(session, order)[0]
    assert line.price_breakdown[1] == {
        "step": "points_exchange",
        "kind": "points_exchange",
        "amount": -25800,
        "label": "积分兑换",
        "reference": f"points_mall:{item.public_id}",
    }
    level = session.get(StockLevel, (sku.id, shelf.warehouse.id))
    assert level is not None
    assert (level.on_hand, level.reserved) == (18, 0)
    assert _snapshot(session, item, member.id) == (3, 2, 400, 1, 0, 1)


def test_points_and_cash_goods_wait_for_payment_then_complete(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=20, store_stock=0)
    item = make_item(session, kind=GOODS, sku_id=shelf.skus[0].id, points_price=100, cash_price=990)
    member = make_member(session, cipher, points_balance=1000)
    exchange, order = exchange_goods(session, cipher, settings, member.id, item, 2, DELIVERY)
    assert (order.status, order.total_amount, order.shipping_amount) == ("pending_payment", 1980, 0)
    assert (exchange.status, exchange.cash_amount, exchange.points) == (
        "pending_payment",
        1980,
        200,
    )
    pay(session, settings, order)
    deliver(session, events.ORDER_PAID, points_mall_events.on_order_paid)
    session.refresh(exchange)
    assert exchange.status == "completed"

    # A partial refund (one of two units) gives half the points and one unit back.
    refund = refunds.request_refund(
        session, order, items=[refunds.RefundItem(1, 1)], reason="不要了", requested_by="customer"
    )
    refunds.approve(session, refund, actor="staff:ops")
    _settle(session, refund)
    deliver(session, events.ORDER_REFUNDED, points_mall_events.on_order_refunded)
    session.refresh(exchange)
    assert exchange.status == "completed"
    assert _snapshot(session, item, member.id)[:3] == (9, 1, 900)
    last = refunds.request_refund(
        session, order, items=None, reason="都不要了", requested_by="customer"
    )
    refunds.approve(session, last, actor="staff:ops")
    _settle(session, last)
    # Both refund events are delivered again: the first one must not give twice.
    _only_new_refund_event(session, last)
    session.refresh(exchange)
    assert exchange.status == "refunded"
    assert _snapshot(session, item, member.id)[:3] == (10, 0, 1000)


def _settle(session: Session, refund: Refund) -> None:
    submission = refunds.prepare_submission(session, refund.id)
    assert submission is not None
    refunds.record_submission(session, submission, sandbox().refund(submission.request))
    session.refresh(refund)


def _only_new_refund_event(session: Session, refund: Refund) -> None:
    from siyu.core import outbox
    from siyu.models.outbox import OutboxEvent

    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name == events.ORDER_REFUNDED)
    ).all()
    for row in rows:
        if row.payload.get("refund_id") == refund.id:
            points_mall_events.on_order_refunded(
                session, outbox.DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
            )


def test_cancelled_exchange_order_gives_everything_back_once(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(5900,), warehouse_stock=20, store_stock=0)
    item = make_item(
        session,
        kind=GOODS,
        sku_id=shelf.skus[0].id,
        points_price=150,
        cash_price=500,
        per_member_limit=1,
    )
    member = make_member(session, cipher, points_balance=400)
    before = _snapshot(session, item, member.id)
    exchange, order = exchange_goods(session, cipher, settings, member.id, item, 1, DELIVERY)
    assert _snapshot(session, item, member.id)[:3] == (9, 1, 250)
    lifecycle.cancel(session, order, actor="job:order.expire", reason="payment_timeout")
    assert deliver(session, events.ORDER_CANCELLED, points_mall_events.on_order_cancelled) == 1
    deliver(session, events.ORDER_CANCELLED, points_mall_events.on_order_cancelled)
    session.refresh(exchange)
    assert exchange.status == "cancelled"
    assert _snapshot(session, item, member.id)[:3] == before[:3] == (10, 0, 400)
    # The limit is free again.
    again, _order = exchange_goods(session, cipher, settings, member.id, item, 1, DELIVERY)
    assert again.status == "pending_payment"


def test_refused_goods_exchange_leaves_no_order(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(5900,), warehouse_stock=20, store_stock=0)
    item = make_item(session, kind=GOODS, sku_id=shelf.skus[0].id, points_price=500)
    member = make_member(session, cipher, points_balance=400)
    before = _snapshot(session, item, member.id)
    level_before = session.get(StockLevel, (shelf.skus[0].id, shelf.warehouse.id))
    assert level_before is not None
    reserved = level_before.reserved
    with pytest.raises(SiyuError) as refused:
        exchange_goods(session, cipher, settings, member.id, item, 1, DELIVERY)
    assert refused.value.code == "points.insufficient"
    assert _snapshot(session, item, member.id) == before
    session.refresh(level_before)
    assert level_before.reserved == reserved


def test_a_hand_made_checkout_cannot_claim_exchange_prices(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(5900,), warehouse_stock=20, store_stock=0)
    item = make_item(session, kind=GOODS, sku_id=shelf.skus[0].id, points_price=1)
    member = make_member(session, cipher, points_balance=400)
    request = checkout.CheckoutInput(
        items=[checkout.ItemInput(shelf.skus[0].id, 1)],
        address=dict(ADDRESS),
        options={"points_exchange": {"item_id": item.id, "quantity": 1}},
    )
    with pytest.raises(SiyuError) as refused:
        checkout.place_order(session, cipher, member.id, request, settings)
    assert refused.value.code == "points_mall.invalid_exchange"
    assert _count(session, Order) == 0
