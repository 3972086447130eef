"""Redemption at checkout and coupons coming back on cancel and full refund."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.coupon import Coupon, CouponKind, CouponStatus
from siyu.models.order import Order, OrderStatus
from siyu.orders import lifecycle, refunds
from tests.coupons.factories import buy, deliver, events_named, give, make_template, snapshot
from tests.customers.factories import make_customer
from tests.orders.factories import make_shelf, pay, sandbox


def _coupon(session: Session, code: str) -> Coupon:
    session.expire_all()
    return session.scalars(select(Coupon).where(Coupon.code == code)).one()


def test_placing_an_order_redeems_the_coupon_it_was_priced_with(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    template = make_template(session, threshold_amount=20000, discount_amount=3000)
    code = give(session, template, customer.id).code
    order, lines = buy(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=[(shelf.skus[0].id, 2)],
        coupon_code=code,
    )
    assert (order.discount_amount, order.total_amount) == (3000, 22800)
    assert sum(line.discount_amount for line in lines) == 3000
    coupon = _coupon(session, code)
    assert (coupon.status, coupon.order_id, coupon.discount_amount) == (
        CouponStatus.USED,
        order.id,
        3000,
    )
    assert events_named(session, "coupon.redeemed")[-1]["order_id"] == order.id
    # The same code again: refused before anything is written.
    before = snapshot(session)
    orders_before = len(session.scalars(select(Order)).all())
    with pytest.raises(SiyuError) as refused:
        buy(
            session,
            cipher,
            settings,
            customer_id=customer.id,
            items=[(shelf.skus[0].id, 2)],
            coupon_code=code,
        )
    assert refused.value.code == "coupon.already_used"
    assert snapshot(session) == before
    assert len(session.scalars(select(Order)).all()) == orders_before


def test_cancelled_order_gives_the_coupon_back_or_expires_it(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: clock.FrozenClock
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    template = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=1000
    )
    kept = give(session, template, customer.id).code
    order, _ = buy(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=[(shelf.skus[0].id, 1)],
        coupon_code=kept,
    )
    lifecycle.cancel(session, order, actor="customer", reason="changed mind")
    assert deliver(session, "order.cancelled") == 1
    coupon = _coupon(session, kept)
    assert (coupon.status, coupon.order_id, coupon.used_at, coupon.discount_amount) == (
        CouponStatus.AVAILABLE,
        None,
        None,
        0,
    )
    # Delivered again (at least once): nothing more happens.
    deliver(session, "order.cancelled")
    assert len(events_named(session, "coupon.returned")) == 1
    # A coupon whose end passed while it sat on the order comes back expired.
    short = make_template(
        session,
        kind=CouponKind.NO_THRESHOLD,
        threshold_amount=0,
        discount_amount=1000,
        valid_until=frozen_clock.now() + timedelta(hours=1),
    )
    late = give(session, short, customer.id).code
    second, _ = buy(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=[(shelf.skus[0].id, 1)],
        coupon_code=late,
    )
    frozen_clock.advance(hours=2)
    lifecycle.cancel(session, second, actor="system", reason="unpaid")
    deliver(session, "order.cancelled")
    assert _coupon(session, late).status == CouponStatus.EXPIRED
    assert events_named(session, "coupon.returned")[-1]["status"] == "expired"


def test_full_refund_returns_the_coupon_partial_does_not(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    template = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=1000
    )
    code = give(session, template, customer.id).code
    order, lines = buy(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=[(shelf.skus[0].id, 1), (shelf.skus[1].id, 1)],
        coupon_code=code,
    )
    pay(session, settings, order)
    session.refresh(order)

    def refund(items: list[refunds.RefundItem] | None) -> None:
        request = refunds.request_refund(
            session, order, items=items, reason="不想要了", requested_by="customer"
        )
        refunds.approve(session, request, actor="staff:ops")
        submission = refunds.prepare_submission(session, request.id)
        assert submission is not None
        refunds.record_submission(session, submission, sandbox().refund(submission.request))
        session.refresh(order)

    refund([refunds.RefundItem(1, 1)])
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    deliver(session, "order.refunded")
    assert _coupon(session, code).status == CouponStatus.USED
    refund(None)
    assert order.status == OrderStatus.REFUNDED
    deliver(session, "order.refunded")
    assert _coupon(session, code).status == CouponStatus.AVAILABLE


def test_refund_return_can_be_switched_off(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    from siyu.core import outbox
    from siyu.core.settings import install
    from siyu.coupons import returns

    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    template = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=1000
    )
    code = give(session, template, customer.id).code
    order, _ = buy(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=[(shelf.skus[0].id, 1)],
        coupon_code=code,
    )
    event = outbox.DomainEvent(
        "e-1", "order.refunded", {"order_id": order.id, "is_full": True}, clock.now()
    )
    install(settings.model_copy(update={"coupon_return_on_refund": False}))
    returns.on_order_refunded(session, event)
    assert _coupon(session, code).status == CouponStatus.USED
    install(settings)
    returns.on_order_refunded(session, event)
    assert _coupon(session, code).status == CouponStatus.AVAILABLE
