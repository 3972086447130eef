"""The order state machine: which status may follow which, and the one way to move.

    pending_payment → paid → shipped → delivered → completed
    pending_payment → cancelled
    paid | shipped | delivered | completed | partially_refunded → refunding
    refunding → refunded | partially_refunded | (back to where it was, when rejected)
    partially_refunded → shipped | delivered | completed   (the rest goes on)

Pick-up orders go paid → delivered (handed over in the store). A transition is one
conditional UPDATE (``WHERE status = :from``), so two requests racing to move the
same order (a payment notification and the auto-cancel job) cannot both succeed:
the loser sees ``order.invalid_transition`` and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from siyu.core import clock
from siyu.core.db import rowcount
from siyu.models.order import Order, OrderLine, OrderStatus, OrderTransition
from siyu.orders import events
from siyu.orders.errors import InvalidTransition

S = OrderStatus
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.DELIVERED, S.REFUNDING}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDING}),
    S.DELIVERED: frozenset({S.COMPLETED, S.REFUNDING}),
    S.COMPLETED: frozenset({S.REFUNDING}),
    S.REFUNDING: frozenset(
        {S.REFUNDED, S.PARTIALLY_REFUNDED, S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED}
    ),
    S.PARTIALLY_REFUNDED: frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED, S.REFUNDING}),
    S.REFUNDED: frozenset(),
    S.CANCELLED: frozenset(),
}

# The event each arrival emits; refunding and its outcomes emit order.refunded from the
# refund service, which knows the amounts.
EVENT_ON_ARRIVAL: dict[OrderStatus, str] = {
    S.PAID: events.ORDER_PAID,
    S.CANCELLED: events.ORDER_CANCELLED,
    S.SHIPPED: events.ORDER_SHIPPED,
    S.DELIVERED: events.ORDER_DELIVERED,
    S.COMPLETED: events.ORDER_COMPLETED,
}

_TIMESTAMP_ON_ARRIVAL: dict[OrderStatus, str] = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.COMPLETED: "completed_at",
    S.CANCELLED: "cancelled_at",
}


def may_move(current: str, target: OrderStatus) -> bool:
    return target in ALLOWED.get(OrderStatus(current), frozenset())


def move(
    session: Session,
    order: Order,
    target: OrderStatus,
    *,
    actor: str,
    reason: str = "",
    values: dict[str, Any] | None = None,
    lines: list[OrderLine] | None = None,
    at: datetime | None = None,
) -> None:
    """Move ``order`` to ``target`` or raise ``order.invalid_transition``.

    ``values`` are further columns to set in the same UPDATE (paid_amount …). The
    order object is refreshed from the row afterwards.
    """
    current = OrderStatus(order.status)
    if not may_move(current, target):
        raise InvalidTransition(
            data={"order": order.public_id, "status": current.value, "target": target.value}
        )
    now = at or clock.now()
    changes: dict[str, Any] = {"status": target.value, "updated_at": now, **(values or {})}
    stamp = _TIMESTAMP_ON_ARRIVAL.get(target)
    if stamp is not None and stamp not in changes:
        changes[stamp] = now
    result = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == current.value)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        session.refresh(order)
        raise InvalidTransition(
            "The order changed meanwhile.",
            data={"order": order.public_id, "status": order.status, "target": target.value},
        )
    # The row now holds exactly these values: set them on the object rather than
    # reading the row back (one query fewer on every transition).
    for key, value in changes.items():
        set_committed_value(order, key, value)
    session.add(
        OrderTransition(
            order_id=order.id,
            from_status=current.value,
            to_status=target.value,
            actor=actor[:64],
            reason=reason[:200],
            created_at=now,
        )
    )
    event = EVENT_ON_ARRIVAL.get(target)
    if event is not None:
        events.emit_order_event(session, event, order, lines, actor=actor, reason=reason)
