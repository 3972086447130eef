"""Points and growth follow the order: earned frozen on payment, thawed when final,
reversed pro rata on refunds, spent points returned on refund and cancellation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.members import audit, points
from siyu.models.order import Order, OrderLine
from siyu.models.payment import Refund
from siyu.orders import lifecycle, refunds
from tests.members.factories import (
    checkout_with_points,
    deliver,
    ledger,
    make_ladder,
    make_member,
    membership,
    payloads,
    set_program,
)
from tests.orders.factories import make_shelf, pay, sandbox

PAID = ("order.paid",)


def _settle(session: Session, refund: Refund) -> None:
    submission = refunds.prepare_submission(session, refund.id)
    assert submission is not None
    refunds.record_submission(session, submission, sandbox().refund(submission.request))


def _refund(session: Session, order: Order, line: OrderLine | None, quantity: int = 1) -> None:
    items = None if line is None else [refunds.RefundItem(line.line_no, quantity)]
    refund = refunds.request_refund(
        session, order, items=items, reason="不要了", requested_by="customer"
    )
    refunds.approve(session, refund, actor="staff:ops")
    _settle(session, refund)
    session.refresh(order)


def test_paid_order_earns_frozen_points_and_growth_then_thaws_when_final(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    tiers = make_ladder(session)
    shelf = make_shelf(session, prices=(12900,))
    customer_id = make_member(session, cipher)
    order, _ = checkout_with_points(
        session, cipher, settings, customer_id=customer_id, sku=shelf.skus[0], quantity=10
    )
    pay(session, settings, order)
    session.refresh(order)
    assert order.paid_amount == 129000
    assert deliver(session, *PAID) == 1
    # 1290 yuan × 1 point × normal tier 100 % (the tier held when paying).
    assert points.balance(session, customer_id) == (0, 1290)
    member = membership(session, customer_id)
    assert (member.growth_value, member.period_growth) == (1290, 1290)
    assert member.tier_id == tiers["silver"].id  # upgraded at once
    assert [
        (p["from_tier"], p["to_tier"], p["reason"])
        for p in payloads(session, "member.tier_changed")
    ] == [("normal", "silver", "upgrade")]
    deliver(session, *PAID)  # a second delivery would change nothing
    assert points.balance(session, customer_id) == (0, 1290)

    lifecycle.ship(
        session, order, actor="staff", carrier="SF", tracking_number="SF1", settings=settings
    )
    lifecycle.confirm_receipt(session, order, actor="customer", settings=settings)
    assert lifecycle.finalise(session, order, actor="system")
    deliver(session, "order.finalised")
    assert points.balance(session, customer_id) == (1290, 0)
    assert ledger(session, customer_id) == [("earn", "available", 1290, 1290)]
    assert audit.run(session).ok


def test_refunds_reverse_earned_points_and_growth_pro_rata(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_ladder(session)
    shelf = make_shelf(session, prices=(3333,))
    customer_id = make_member(session, cipher)
    order, lines = checkout_with_points(
        session, cipher, settings, customer_id=customer_id, sku=shelf.skus[0], quantity=3
    )
    pay(session, settings, order)
    session.refresh(order)
    deliver(session, *PAID)
    assert points.balance(session, customer_id) == (0, 99)
    _refund(session, order, lines[0])
    deliver(session, "order.refunded")
    # 99 × 3333 / 9999 = 33 reversed, still frozen.
    assert points.balance(session, customer_id) == (0, 66)
    assert membership(session, customer_id).growth_value == 66
    _refund(session, order, None)
    deliver(session, "order.refunded")
    assert points.balance(session, customer_id) == (0, 0)
    assert membership(session, customer_id).growth_value == 0
    assert [row[:3] for row in ledger(session, customer_id)] == [
        ("earn", "frozen", 99),
        ("reverse", "frozen", -33),
        ("reverse", "frozen", -66),
    ]
    deliver(session, "order.refunded")  # redelivery reverses nothing twice
    assert audit.run(session).ok


def test_refunds_return_spent_points_and_cancel_returns_all(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(10000,))
    customer_id = make_member(session, cipher, points_balance=5000)
    order, lines = checkout_with_points(
        session,
        cipher,
        settings,
        customer_id=customer_id,
        sku=shelf.skus[0],
        quantity=2,
        spend=4000,
    )
    # 20 % cap of ¥200 = ¥40 = 4000 points at 100 points per yuan.
    assert order.discount_amount == 4000
    assert points.balance(session, customer_id) == (1000, 0)
    pay(session, settings, order)
    session.refresh(order)
    assert order.paid_amount == 16000
    deliver(session, *PAID)
    _refund(session, order, lines[0])
    deliver(session, "order.refunded")
    # Half the paid amount came back: half the spent points too, as a new lot.
    assert points.balance(session, customer_id)[0] == 3000
    assert ledger(session, customer_id)[-1][:3] == ("reverse", "available", 2000)

    other, _ = checkout_with_points(
        session, cipher, settings, customer_id=customer_id, sku=shelf.skus[0], spend=2000
    )
    assert points.balance(session, customer_id)[0] == 1000
    lifecycle.cancel(session, other, actor="customer", reason="changed my mind")
    deliver(session, "order.cancelled")
    deliver(session, "order.cancelled")
    assert points.balance(session, customer_id)[0] == 3000
    assert audit.run(session).ok


def test_keep_earned_policy_leaves_earned_points(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    set_program(session, refund_policy={"reverse_earned": False, "return_spent": True})
    shelf = make_shelf(session, prices=(10000,))
    customer_id = make_member(session, cipher)
    order, _ = checkout_with_points(
        session, cipher, settings, customer_id=customer_id, sku=shelf.skus[0]
    )
    pay(session, settings, order)
    session.refresh(order)
    deliver(session, *PAID)
    _refund(session, order, None)
    deliver(session, "order.refunded")
    assert points.balance(session, customer_id) == (0, 100)
    assert membership(session, customer_id).growth_value == 0


def test_tier_multiplier_scales_earned_points(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    tiers = make_ladder(session)
    shelf = make_shelf(session, prices=(10050,))
    customer_id = make_member(session, cipher)
    membership(session, customer_id).tier_id = tiers["gold"].id
    # Gold ships free from ¥50, below the shop's ¥99.
    tiers["gold"].free_shipping_threshold = 5000
    session.flush()
    order, _ = checkout_with_points(
        session, cipher, settings, customer_id=customer_id, sku=shelf.skus[0]
    )
    pay(session, settings, order)
    session.refresh(order)
    # Gold: 95折 of 10050 (the 502.5 discount rounds down) → 9548 paid, no shipping;
    # 95.48 yuan × 150 % = 143.2 → 143 points.
    assert order.paid_amount == 9548
    deliver(session, *PAID)
    assert points.balance(session, customer_id) == (0, 143)


def test_orders_paid_before_the_program_launch_earn_nothing(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_ladder(session)
    shelf = make_shelf(session, prices=(12900,))
    customer_id = make_member(session, cipher)
    set_program(session, counts_from=(clock.now() + timedelta(hours=1)).isoformat())
    early, _ = checkout_with_points(
        session, cipher, settings, customer_id=customer_id, sku=shelf.skus[0], quantity=1
    )
    pay(session, settings, early)
    assert deliver(session, *PAID) == 1
    assert points.balance(session, customer_id) == (0, 0)
    assert membership(session, customer_id).growth_value == 0

    set_program(session, counts_from=(clock.now() - timedelta(hours=1)).isoformat())
    later, _ = checkout_with_points(
        session, cipher, settings, customer_id=customer_id, sku=shelf.skus[0], quantity=1
    )
    pay(session, settings, later)
    deliver(session, *PAID)
    assert points.balance(session, customer_id) == (0, 129)
    assert membership(session, customer_id).growth_value == 129
    assert audit.run(session).ok
