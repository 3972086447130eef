"""Refunds and after-sale: by line and quantity, approved by an operator, paid back
through the payment's provider, and reversible downstream via ``order.refunded``.

Amounts: refunding q of a line's n units returns ⌊payable × q / n⌋, and the line's
last units return whatever is left of its payable, so a line refunded in several
steps returns exactly what it cost (its share of discounts and shipping included).
An operator may refund less than that (goodwill, a damaged return), never more.

One open refund per order at a time: the order waits in ``refunding`` and returns to
where it was (``resume_status``) when the refund is rejected or fails.

Restock: goods of a paid order that has not shipped never left the shelf, so they go
back to stock by default; returned goods of a shipped order go back only when the
operator says so on approval (they may be damaged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core import clock, jobs, outbox
from siyu.core.db import rowcount
from siyu.core.settings import current as current_settings
from siyu.models.base import new_public_id
from siyu.models.order import Order, OrderLine, OrderStatus
from siyu.models.payment import Payment, PaymentStatus, Refund, RefundLine, RefundStatus
from siyu.orders import events, lifecycle, state
from siyu.orders.errors import (
    InvalidRefund,
    RefundNotAllowed,
    RefundStateConflict,
)
from siyu.orders.payments import registry
from siyu.orders.payments.provider import RefundRequest, RefundResult
from siyu.orders.pricing.allocation import allocate

SUBMIT_TASK = "refund.submit"
OPEN_STATUSES = (RefundStatus.REQUESTED, RefundStatus.PROCESSING)
REFUNDABLE_ORDER_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
    OrderStatus.PARTIALLY_REFUNDED,
)
PAYMENT_REFUNDED_LATE = "payment.refunded_late"


@dataclass(frozen=True)
class RefundItem:
    line_no: int
    quantity: int


def find_by_public_id(session: Session, public_id: str) -> Refund | None:
    return session.scalars(select(Refund).where(Refund.public_id == public_id)).one_or_none()


def refund_amount_for(line: OrderLine, quantity: int) -> int:
    remaining_units = line.quantity - line.refunded_quantity
    if quantity == remaining_units:
        return line.payable_amount - line.refunded_amount
    return line.payable_amount * quantity // line.quantity


def _succeeded_payment(session: Session, order: Order) -> Payment | None:
    return session.scalars(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED)
        .order_by(Payment.id)
        .limit(1)
    ).first()


def request_refund(
    session: Session,
    order: Order,
    *,
    items: list[RefundItem] | None,
    reason: str,
    requested_by: str,
    amount: int | None = None,
    restock: bool | None = None,
) -> Refund:
    """Open a refund for ``items`` (None: everything not yet refunded)."""
    if order.status not in REFUNDABLE_ORDER_STATUSES:
        raise RefundNotAllowed(data={"order": order.public_id, "status": order.status})
    if order.final_at is not None:
        raise RefundNotAllowed(
            "The return window of this order has closed.",
            data={"order": order.public_id, "reason": "final"},
        )
    open_refund = session.scalar(
        select(Refund.id).where(Refund.order_id == order.id, Refund.status.in_(OPEN_STATUSES))
    )
    if open_refund is not None:
        raise RefundNotAllowed(
            "This order already has a refund in progress.",
            data={"order": order.public_id, "reason": "refund_open"},
        )
    lines = {line.line_no: line for line in lifecycle.lines_of(session, order)}
    wanted = _wanted_quantities(lines, items)
    refund_lines = [
        (lines[line_no], quantity, refund_amount_for(lines[line_no], quantity))
        for line_no, quantity in sorted(wanted.items())
    ]
    maximum = sum(line_amount for _, _, line_amount in refund_lines)
    maximum = min(maximum, order.paid_amount - order.refunded_amount)
    if amount is None:
        amount = maximum
    if not 0 < amount <= maximum:
        raise InvalidRefund(
            f"The refund must be between 0.01 and {maximum / 100:.2f} yuan.",
            data={"field": "amount", "maximum": maximum, "amount": amount},
        )
    payment = _succeeded_payment(session, order)
    if payment is None:
        raise RefundNotAllowed("This order has no payment to refund.", data={"reason": "unpaid"})
    shares = _scale(refund_lines, amount)
    refund = Refund(
        public_id=new_public_id("rf"),
        order_id=order.id,
        payment_id=payment.id,
        status=RefundStatus.REQUESTED,
        amount=amount,
        reason=reason.strip()[:200],
        restock=restock if restock is not None else order.status == OrderStatus.PAID,
        requested_by=requested_by[:64],
        provider=payment.provider,
    )
    session.add(refund)
    session.flush()
    session.add_all(
        RefundLine(refund_id=refund.id, order_line_id=line.id, quantity=quantity, amount=share)
        for (line, quantity, _), share in zip(refund_lines, shares, strict=True)
    )
    resume = order.resume_status if order.status == OrderStatus.PARTIALLY_REFUNDED else order.status
    state.move(
        session,
        order,
        OrderStatus.REFUNDING,
        actor=requested_by,
        reason=reason,
        values={"resume_status": resume},
    )
    return refund


def _wanted_quantities(
    lines: dict[int, OrderLine], items: list[RefundItem] | None
) -> dict[int, int]:
    if items is None:
        wanted = {
            line_no: line.quantity - line.refunded_quantity
            for line_no, line in lines.items()
            if line.quantity > line.refunded_quantity
        }
    else:
        wanted = {}
        for item in items:
            line = lines.get(item.line_no)
            if line is None:
                raise InvalidRefund(
                    "No such order line.", data={"field": "items", "line_no": item.line_no}
                )
            wanted[item.line_no] = wanted.get(item.line_no, 0) + item.quantity
        for line_no, quantity in wanted.items():
            line = lines[line_no]
            if not 0 < quantity <= line.quantity - line.refunded_quantity:
                raise InvalidRefund(
                    "Refund quantity exceeds what is left on the line.",
                    data={
                        "field": "items",
                        "line_no": line_no,
                        "quantity": quantity,
                        "refundable": line.quantity - line.refunded_quantity,
                    },
                )
    if not wanted:
        raise InvalidRefund("Nothing left to refund.", data={"field": "items"})
    return wanted


def _scale(refund_lines: list[tuple[OrderLine, int, int]], amount: int) -> list[int]:
    """Per-line amounts summing to ``amount`` (less than the maximum for goodwill)."""
    return allocate(amount, [line_amount for _, _, line_amount in refund_lines])


def approve(
    session: Session, refund: Refund, *, actor: str, restock: bool | None = None, note: str = ""
) -> None:
    values: dict[str, Any] = {
        "status": RefundStatus.PROCESSING,
        "reviewed_by": actor[:64],
        "reviewed_at": clock.now(),
        "review_note": note[:200],
    }
    if restock is not None:
        values["restock"] = restock
    _move_refund(session, refund, RefundStatus.REQUESTED, values)
    _enqueue_submit(session, refund)


def reject(session: Session, refund: Refund, *, actor: str, note: str) -> None:
    if not note.strip():
        raise InvalidRefund("Say why the refund is rejected.", data={"field": "note"})
    _move_refund(
        session,
        refund,
        RefundStatus.REQUESTED,
        {
            "status": RefundStatus.REJECTED,
            "reviewed_by": actor[:64],
            "reviewed_at": clock.now(),
            "review_note": note[:200],
        },
    )
    _resume_order(session, refund, actor=actor, reason=f"refund rejected: {note}")


def _move_refund(
    session: Session, refund: Refund, expected: RefundStatus, values: dict[str, Any]
) -> None:
    result = session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == expected)
        .values(**values, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        session.refresh(refund)
        raise RefundStateConflict(data={"refund": refund.public_id, "status": refund.status})
    session.refresh(refund)


def _enqueue_submit(session: Session, refund: Refund) -> None:
    jobs.enqueue(
        session,
        SUBMIT_TASK,
        {"refund_id": refund.id},
        idempotency_key=f"{SUBMIT_TASK}:{refund.id}:{refund.updated_at.isoformat()}",
    )


def _resume_order(session: Session, refund: Refund, *, actor: str, reason: str) -> None:
    order = session.get(Order, refund.order_id)
    if order is None or order.status != OrderStatus.REFUNDING:
        return
    if order.refunded_amount > 0:
        target = OrderStatus.PARTIALLY_REFUNDED
    else:
        target = OrderStatus(order.resume_status or OrderStatus.PAID)
    state.move(session, order, target, actor=actor, reason=reason)


def refund_payment_in_full(
    session: Session, order: Order, payment: Payment, *, reason: str
) -> Refund:
    """Money that arrived for an order that cannot take it: give it all back, no review."""
    refund = Refund(
        public_id=new_public_id("rf"),
        order_id=order.id,
        payment_id=payment.id,
        status=RefundStatus.PROCESSING,
        amount=payment.amount,
        reason=reason[:200],
        restock=False,
        requested_by="system:late_payment",
        reviewed_by="system",
        reviewed_at=clock.now(),
        provider=payment.provider,
    )
    session.add(refund)
    session.flush()
    _enqueue_submit(session, refund)
    return refund


def settle(
    session: Session,
    refund: Refund,
    *,
    succeeded: bool,
    provider_refund_id: str | None,
    detail: str = "",
) -> bool:
    """The provider's answer; True when this call changed the refund."""
    target = RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED
    result = session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == RefundStatus.PROCESSING)
        .values(
            status=target,
            provider_refund_id=provider_refund_id or refund.provider_refund_id,
            failure_reason=None if succeeded else detail[:200],
            completed_at=clock.now(),
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    session.refresh(refund)
    if refund.requested_by == "system:late_payment":
        outbox.emit(
            session,
            PAYMENT_REFUNDED_LATE if succeeded else events.PAYMENT_FLAGGED,
            {"refund_id": refund.id, "order_id": refund.order_id, "amount": refund.amount},
        )
        return True
    if not succeeded:
        outbox.emit(
            session,
            events.PAYMENT_FLAGGED,
            {"refund_id": refund.id, "order_id": refund.order_id, "detail": detail},
        )
        _resume_order(session, refund, actor="payment", reason=f"refund failed: {detail}")
        return True
    _apply_to_order(session, refund)
    return True


def _apply_to_order(session: Session, refund: Refund) -> None:
    order = session.get(Order, refund.order_id)
    assert order is not None
    refund_lines = list(
        session.scalars(select(RefundLine).where(RefundLine.refund_id == refund.id))
    )
    lines = {line.id: line for line in lifecycle.lines_of(session, order)}
    restock_items = []
    for refund_line in refund_lines:
        line = lines[refund_line.order_line_id]
        session.execute(
            update(OrderLine)
            .where(OrderLine.id == line.id)
            .values(
                refunded_quantity=OrderLine.refunded_quantity + refund_line.quantity,
                refunded_amount=OrderLine.refunded_amount + refund_line.amount,
            )
        )
        if refund.restock and line.sku_id and line.location_id and refund_line.quantity:
            restock_items.append(
                stock.StockItem(line.sku_id, line.location_id, refund_line.quantity)
            )
    if restock_items:
        stock.restock(
            session,
            restock_items,
            order_id=order.id,
            actor=f"refund:{refund.public_id}",
            reason="refund",
        )
    session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(refunded_amount=Order.refunded_amount + refund.amount)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    for line in lines.values():
        session.refresh(line)
    everything_back = all(line.refunded_quantity == line.quantity for line in lines.values()) or (
        order.refunded_amount >= order.paid_amount
    )
    target = OrderStatus.REFUNDED if everything_back else OrderStatus.PARTIALLY_REFUNDED
    state.move(session, order, target, actor=f"refund:{refund.public_id}", reason=refund.reason)
    events.emit_order_event(
        session,
        events.ORDER_REFUNDED,
        order,
        list(lines.values()),
        refund_id=refund.id,
        refund_public_id=refund.public_id,
        refund_amount=refund.amount,
        is_full=target == OrderStatus.REFUNDED,
        refund_lines=[
            {"line_id": rl.order_line_id, "quantity": rl.quantity, "amount": rl.amount}
            for rl in refund_lines
        ],
    )


@dataclass(frozen=True)
class Submission:
    refund_id: int
    provider: str
    request: RefundRequest


def prepare_submission(session: Session, refund_id: int) -> Submission | None:
    """What to send to the provider for a refund being processed (a read); None when
    there is nothing to send."""
    refund = session.get(Refund, refund_id)
    if refund is None or refund.status != RefundStatus.PROCESSING:
        return None
    payment = session.get(Payment, refund.payment_id) if refund.payment_id else None
    if payment is None:
        settle(session, refund, succeeded=False, provider_refund_id=None, detail="no payment")
        return None
    return Submission(
        refund_id=refund.id,
        provider=payment.provider,
        request=RefundRequest(
            out_trade_no=payment.public_id,
            out_refund_no=refund.public_id,
            refund_amount=refund.amount,
            total_amount=payment.amount,
            reason=refund.reason or "退款",
            transaction_id=payment.provider_transaction_id,
        ),
    )


def record_submission(session: Session, submission: Submission, result: RefundResult) -> None:
    """The provider's answer to a submission."""
    refund = session.get(Refund, submission.refund_id)
    if refund is None:
        return
    if result.status == "processing":
        # A notification (or a later query) will settle it.
        session.execute(
            update(Refund)
            .where(Refund.id == refund.id, Refund.status == RefundStatus.PROCESSING)
            .values(provider_refund_id=result.provider_refund_id, updated_at=clock.now())
        )
        return
    settle(
        session,
        refund,
        succeeded=result.status == "succeeded",
        provider_refund_id=result.provider_refund_id,
        detail=result.detail,
    )


@jobs.task(SUBMIT_TASK, max_attempts=8)
def submit_to_provider(session: Session, payload: dict[str, Any]) -> None:
    submission = prepare_submission(session, int(payload["refund_id"]))
    if submission is None:
        return
    # End the read before the network call: no transaction is held while waiting.
    # The provider deduplicates on out_refund_no, so a retry after a crash is safe.
    session.commit()
    provider = registry.provider_for(submission.provider, current_settings())
    record_submission(session, submission, provider.refund(submission.request))
