"""Refunds by line and quantity, approval, restock and the amounts that come back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.jobs import JobRunner
from siyu.core.settings import Settings
from siyu.models.order import Order, OrderLine, OrderStatus
from siyu.models.outbox import OutboxEvent
from siyu.models.payment import Refund, RefundStatus
from siyu.models.stock import StockLevel
from siyu.orders import lifecycle, refunds
from tests.customers.factories import make_customer
from tests.orders.factories import Shelf, make_shelf, order_items, pay, place_order, sandbox


def _paid_order(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf, *pairs: tuple[int, int]
) -> tuple[Order, list[OrderLine]]:
    customer = make_customer(session, cipher)
    order, lines = place_order(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=order_items(*[(shelf.skus[index], quantity) for index, quantity in pairs]),
    )
    pay(session, settings, order)
    session.refresh(order)
    return order, lines


def _settle_now(session: Session, refund: Refund) -> None:
    """What the refund.submit job does, inside the test's transaction (the job itself
    commits its read before calling the provider; the sandbox refunds at once)."""
    submission = refunds.prepare_submission(session, refund.id)
    assert submission is not None
    refunds.record_submission(session, submission, sandbox().refund(submission.request))
    session.refresh(refund)


def test_partial_refunds_return_exactly_what_the_line_cost(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session, prices=(3333, 1111))
    order, lines = _paid_order(session, cipher, settings, shelf, (0, 3), (1, 1))
    line = lines[0]
    assert order.shipping_amount == 0
    returned = []
    for _ in range(3):
        refund = refunds.request_refund(
            session,
            order,
            items=[refunds.RefundItem(line.line_no, 1)],
            reason="尺码不合适",
            requested_by="customer",
        )
        assert order.status == OrderStatus.REFUNDING
        refunds.approve(session, refund, actor="staff:ops")
        _settle_now(session, refund)
        assert refund.status == RefundStatus.SUCCEEDED
        returned.append(refund.amount)
        session.refresh(order)
        assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert sum(returned) == line.payable_amount == 9999
    assert returned == [3333, 3333, 3333]
    session.refresh(line)
    assert line.refunded_quantity == 3
    # The last line goes: the whole order is refunded.
    last = refunds.request_refund(
        session, order, items=None, reason="不要了", requested_by="customer"
    )
    refunds.approve(session, last, actor="staff:ops")
    _settle_now(session, last)
    session.refresh(order)
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == order.paid_amount
    names = list(session.scalars(select(OutboxEvent.name)))
    assert names.count("order.refunded") == 4


def test_unshipped_refund_restocks_by_default(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    order, _ = _paid_order(session, cipher, settings, shelf, (0, 2))
    refund = refunds.request_refund(
        session, order, items=None, reason="买错了", requested_by="customer"
    )
    assert refund.restock is True
    refunds.approve(session, refund, actor="staff:ops")
    _settle_now(session, refund)
    level = session.get(StockLevel, (shelf.skus[0].id, shelf.warehouse.id))
    assert level is not None
    assert (level.on_hand, level.reserved) == (100, 0)
    assert stock.audit(session) == []


def test_shipped_refund_restocks_only_when_the_operator_says_so(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    order, _ = _paid_order(session, cipher, settings, shelf, (0, 2))
    lifecycle.ship(
        session, order, actor="staff:ops", carrier="顺丰", tracking_number="SF9", settings=settings
    )
    refund = refunds.request_refund(
        session, order, items=None, reason="破损", requested_by="customer"
    )
    assert refund.restock is False
    refunds.approve(session, refund, actor="staff:ops")
    _settle_now(session, refund)
    level = session.get(StockLevel, (shelf.skus[0].id, shelf.warehouse.id))
    assert level is not None
    assert level.on_hand == 98


def test_rejected_refund_returns_the_order_to_where_it_was(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    order, _ = _paid_order(session, cipher, settings, shelf, (0, 1))
    lifecycle.ship(
        session, order, actor="staff:ops", carrier="顺丰", tracking_number="SF9", settings=settings
    )
    refund = refunds.request_refund(
        session, order, items=None, reason="想退", requested_by="customer"
    )
    with pytest.raises(SiyuError) as caught:
        refunds.reject(session, refund, actor="staff:ops", note=" ")
    assert caught.value.code == "refund.invalid"
    refunds.reject(session, refund, actor="staff:ops", note="已超过退货条件")
    session.refresh(order)
    assert order.status == OrderStatus.SHIPPED
    assert refund.status == RefundStatus.REJECTED


@pytest.mark.parametrize(
    ("items", "amount", "code"),
    [
        ([refunds.RefundItem(1, 2)], None, "refund.invalid"),  # more units than bought
        ([refunds.RefundItem(9, 1)], None, "refund.invalid"),  # no such line
        ([refunds.RefundItem(1, 0)], None, "refund.invalid"),
        (None, 10**9, "refund.invalid"),  # more money than paid
        (None, 0, "refund.invalid"),
    ],
)
def test_bad_refund_requests_change_nothing(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    items: list[refunds.RefundItem] | None,
    amount: int | None,
    code: str,
) -> None:
    shelf = make_shelf(session)
    order, _ = _paid_order(session, cipher, settings, shelf, (0, 1))
    with pytest.raises(SiyuError) as caught:
        refunds.request_refund(
            session, order, items=items, reason="x", requested_by="staff:ops", amount=amount
        )
    assert caught.value.code == code
    session.refresh(order)
    assert order.status == OrderStatus.PAID
    assert session.scalar(select(func.count()).select_from(Refund)) == 0


def test_unpaid_and_final_orders_cannot_be_refunded(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    unpaid, _ = place_order(
        session, cipher, settings, customer_id=customer.id, items=order_items((shelf.skus[0], 1))
    )
    with pytest.raises(SiyuError) as caught:
        refunds.request_refund(session, unpaid, items=None, reason="x", requested_by="customer")
    assert caught.value.code == "refund.not_allowed"
    order, _ = _paid_order(session, cipher, settings, shelf, (0, 1))
    lifecycle.deliver(session, order, actor="staff:ops", settings=settings)
    lifecycle.complete(session, order, actor="staff:ops", settings=settings)
    assert lifecycle.finalise(session, order, actor="test") is True
    with pytest.raises(SiyuError) as caught:
        refunds.request_refund(session, order, items=None, reason="x", requested_by="customer")
    assert caught.value.data["reason"] == "final"


def test_one_open_refund_at_a_time(session: Session, cipher: PiiCipher, settings: Settings) -> None:
    shelf = make_shelf(session)
    order, lines = _paid_order(session, cipher, settings, shelf, (0, 2))
    refunds.request_refund(
        session, order, items=[refunds.RefundItem(1, 1)], reason="x", requested_by="customer"
    )
    with pytest.raises(SiyuError) as caught:
        refunds.request_refund(
            session, order, items=[refunds.RefundItem(1, 1)], reason="y", requested_by="customer"
        )
    assert caught.value.code == "refund.not_allowed"


def test_refund_job_runs_through_the_worker(
    session_factory,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    from siyu.core.db import transaction
    from tests.customers.factories import make_cipher

    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session)
        order, _ = _paid_order(session, cipher, settings, shelf, (0, 1))
        refund = refunds.request_refund(
            session, order, items=None, reason="x", requested_by="customer"
        )
        refunds.approve(session, refund, actor="staff:ops")
        refund_id, order_id = refund.id, order.id
    runner = JobRunner(session_factory, worker_id="test")
    while runner.run_due():
        pass
    with transaction(session_factory) as session:
        stored = session.get(Refund, refund_id)
        assert stored is not None
        assert stored.status == RefundStatus.SUCCEEDED
        assert stored.provider_refund_id == f"sbx_rf_{stored.public_id}"
        refreshed = session.get(Order, order_id)
        assert refreshed is not None
        assert refreshed.status == OrderStatus.REFUNDED
