"""What the points mall does when an exchange order moves on (handlers, idempotent).

* ``order.paid``: the cash part arrived, the exchange is completed.
* ``order.cancelled`` (the unpaid order timed out or was cancelled): points, stock
  and tally go back and the exchange is cancelled — one conditional status UPDATE
  decides, so a repeated event gives nothing twice.
* ``order.refunded``: points go back pro rata to the refunded quantity (by amount when
  a refund names no lines), stock and tally per refunded unit; a full refund returns
  whatever is left and marks the exchange refunded.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.core.db import rowcount
from siyu.members import points
from siyu.members import points_mall_pricing as _pricing  # noqa: F401  (registers the step)
from siyu.members.points_mall_exchange import give_back, spend_reference
from siyu.models.member import PointsEntryKind, PointsExchange, PointsExchangeStatus
from siyu.orders import events

Status = PointsExchangeStatus


def _exchange_of(session: Session, order_id: int) -> PointsExchange | None:
    return session.scalars(
        select(PointsExchange).where(PointsExchange.order_id == order_id)
    ).first()


def _move(session: Session, exchange: PointsExchange, source: set[Status], target: Status) -> bool:
    moved = session.execute(
        update(PointsExchange)
        .where(
            PointsExchange.id == exchange.id,
            PointsExchange.status.in_([status.value for status in source]),
        )
        .values(status=target.value, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    session.refresh(exchange)
    return rowcount(moved) == 1


def returned_points(session: Session, exchange: PointsExchange) -> int:
    """Points already given back for this exchange (the ledger's reversals of its spend)."""
    spent = points.find(
        session, exchange.customer_id, PointsEntryKind.SPEND, spend_reference(exchange)
    )
    return 0 if spent is None else points.returned_for(session, spent)


def _give_points(session: Session, exchange: PointsExchange, amount: int, suffix: str) -> None:
    if amount <= 0 or exchange.points == 0:
        return
    points.refund_spend(
        session,
        exchange.customer_id,
        spend_reference=spend_reference(exchange),
        amount=amount,
        reference=f"{spend_reference(exchange)}:{suffix}",
        reason="积分兑换退回",
    )


@outbox.handler(events.ORDER_PAID, name="points_mall.exchange_paid")
def on_order_paid(session: Session, event: outbox.DomainEvent) -> None:
    exchange = _exchange_of(session, int(event.payload["order_id"]))
    if exchange is not None:
        _move(session, exchange, {Status.PENDING_PAYMENT}, Status.COMPLETED)


@outbox.handler(events.ORDER_CANCELLED, name="points_mall.exchange_cancelled")
def on_order_cancelled(session: Session, event: outbox.DomainEvent) -> None:
    exchange = _exchange_of(session, int(event.payload["order_id"]))
    if exchange is None or not _move(session, exchange, {Status.PENDING_PAYMENT}, Status.CANCELLED):
        return
    _give_points(session, exchange, exchange.points - returned_points(session, exchange), "cancel")
    give_back(session, exchange.item_id, exchange.customer_id, exchange.quantity)


@outbox.handler(events.ORDER_REFUNDED, name="points_mall.exchange_refunded")
def on_order_refunded(session: Session, event: outbox.DomainEvent) -> None:
    payload = event.payload
    exchange = _exchange_of(session, int(payload["order_id"]))
    if exchange is None or exchange.status != Status.COMPLETED:
        return
    refund_id = payload.get("refund_id")
    quantity = sum(int(line.get("quantity", 0)) for line in payload.get("refund_lines", []))
    already = returned_points(session, exchange)
    if payload.get("is_full"):
        due = exchange.points - already
        # The full refund's own lines are the units not refunded before.
        quantity = quantity or exchange.quantity
    elif quantity:
        due = exchange.points * min(quantity, exchange.quantity) // exchange.quantity
    elif exchange.cash_amount:
        due = exchange.points * int(payload.get("refund_amount", 0)) // exchange.cash_amount
    else:
        due = 0
    _give_points(session, exchange, min(due, exchange.points - already), f"refund:{refund_id}")
    give_back(session, exchange.item_id, exchange.customer_id, min(quantity, exchange.quantity))
    if payload.get("is_full"):
        _move(session, exchange, {Status.COMPLETED}, Status.REFUNDED)
