"""What happens to an order after checkout, and the jobs that do it on time.

- unpaid past ``payment_deadline`` → cancelled, stock released (job ``order.expire``);
- paid → stock committed (the goods are sold);
- shipped → delivered → completed: the customer confirms receipt, staff hand a
  pick-up over, or ``order_auto_complete_days`` after shipping the order completes by
  itself (job ``order.auto_complete``; 自动确认收货);
- completed → final ``order_return_window_days`` later (job ``order.finalise``): no
  more refunds, and ``order.finalised`` tells points to unfreeze.

Jobs take the order id, reload and re-check: a job that finds the order already moved
on does nothing, so a job running twice or late is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core import clock, jobs
from siyu.core.db import rowcount
from siyu.core.settings import Settings
from siyu.core.settings import current as current_settings
from siyu.models.order import Fulfilment, Order, OrderLine, OrderStatus
from siyu.models.payment import Payment, PaymentStatus
from siyu.orders import events, state
from siyu.orders.errors import InvalidCheckout, InvalidTransition

EXPIRE_TASK = "order.expire"
AUTO_COMPLETE_TASK = "order.auto_complete"
FINALISE_TASK = "order.finalise"
CLOSE_PAYMENT_TASK = "payment.close"


# Checks a domain adds before an order leaves the shelf (shipped or handed over): a
# group-buy order waits until its group fills. A guard raises to refuse.
ShipGuard = Callable[[Session, Order], None]
_ship_guards: dict[str, ShipGuard] = {}


def register_ship_guard(name: str, guard: ShipGuard) -> None:
    if name in _ship_guards:
        raise ValueError(f"ship guard {name!r} is already registered")
    _ship_guards[name] = guard


def check_ship_guards(session: Session, order: Order) -> None:
    for guard in _ship_guards.values():
        guard(session, order)


def lines_of(session: Session, order: Order) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
        )
    )


def _stock_items(lines: list[OrderLine]) -> list[stock.StockItem]:
    return [
        stock.StockItem(line.sku_id, line.location_id, line.quantity)
        for line in lines
        if line.sku_id is not None and line.location_id is not None
    ]


def schedule_expiry(session: Session, order: Order, *, first: bool = False) -> None:
    """Cancel ``order`` at its payment deadline unless it is paid by then. The first
    schedule (at checkout, for an order that did not exist a moment ago) needs no
    idempotency key; a re-schedule uses one so that repeats add nothing."""
    jobs.enqueue(
        session,
        EXPIRE_TASK,
        {"order_id": order.id},
        run_at=order.payment_deadline,
        idempotency_key=None if first else f"{EXPIRE_TASK}:{order.id}:{order.payment_deadline}",
    )


def cancel(session: Session, order: Order, *, actor: str, reason: str) -> None:
    """Cancel an unpaid order: release its stock and close its pending payments."""
    lines = lines_of(session, order)
    state.move(
        session,
        order,
        OrderStatus.CANCELLED,
        actor=actor,
        reason=reason,
        values={"cancel_reason": reason[:64]},
        lines=lines,
    )
    stock.release(session, _stock_items(lines), order_id=order.id, actor=actor, reason=reason)
    pending = list(
        session.scalars(
            select(Payment.id).where(
                Payment.order_id == order.id, Payment.status == PaymentStatus.PENDING
            )
        )
    )
    if pending:
        session.execute(
            update(Payment)
            .where(Payment.id.in_(pending), Payment.status == PaymentStatus.PENDING)
            .values(status=PaymentStatus.CLOSED, closed_at=clock.now())
        )
        for payment_id in pending:
            # Telling the provider is a network call: a job, after this commits.
            jobs.enqueue(
                session,
                CLOSE_PAYMENT_TASK,
                {"payment_id": payment_id},
                idempotency_key=f"{CLOSE_PAYMENT_TASK}:{payment_id}",
            )


def mark_paid(
    session: Session, order: Order, *, amount: int, actor: str, at: datetime | None = None
) -> None:
    """The money arrived: reserved stock leaves the shelves, the order is paid."""
    lines = lines_of(session, order)
    state.move(
        session,
        order,
        OrderStatus.PAID,
        actor=actor,
        values={"paid_amount": amount},
        lines=lines,
        at=at,
    )
    stock.commit(session, _stock_items(lines), order_id=order.id, actor=actor)


def ship(
    session: Session,
    order: Order,
    *,
    actor: str,
    carrier: str,
    tracking_number: str,
    settings: Settings,
) -> None:
    if order.fulfilment != Fulfilment.DELIVERY:
        raise InvalidTransition(
            "A pick-up order is handed over in the store, not shipped.",
            data={"order": order.public_id, "fulfilment": order.fulfilment},
        )
    check_ship_guards(session, order)
    if not carrier.strip() or not tracking_number.strip():
        raise InvalidCheckout(
            "Carrier and tracking number are required.", data={"field": "tracking_number"}
        )
    state.move(
        session,
        order,
        OrderStatus.SHIPPED,
        actor=actor,
        values={"carrier": carrier.strip()[:32], "tracking_number": tracking_number.strip()[:64]},
    )
    _schedule(session, AUTO_COMPLETE_TASK, order, timedelta(days=settings.order_auto_complete_days))


def deliver(session: Session, order: Order, *, actor: str, settings: Settings) -> None:
    """Goods arrived (carrier) or were handed over in the store (pick-up, which also
    completes the order: the customer has them in hand)."""
    if order.status == OrderStatus.PAID:
        check_ship_guards(session, order)
    state.move(session, order, OrderStatus.DELIVERED, actor=actor)
    if order.fulfilment == Fulfilment.PICKUP:
        complete(session, order, actor=actor, settings=settings, reason="picked up")


def confirm_receipt(session: Session, order: Order, *, actor: str, settings: Settings) -> None:
    """The customer confirms receipt (确认收货): shipped or delivered → completed."""
    if order.status == OrderStatus.SHIPPED:
        state.move(session, order, OrderStatus.DELIVERED, actor=actor, reason="receipt confirmed")
    complete(session, order, actor=actor, settings=settings, reason="receipt confirmed")


def complete(
    session: Session, order: Order, *, actor: str, settings: Settings, reason: str = ""
) -> None:
    state.move(session, order, OrderStatus.COMPLETED, actor=actor, reason=reason)
    _schedule(session, FINALISE_TASK, order, timedelta(days=settings.order_return_window_days))


def finalise(session: Session, order: Order, *, actor: str) -> bool:
    """Close the return window; True when this call did it."""
    now = clock.now()
    result = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.final_at.is_(None))
        .where(Order.status.in_([OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED]))
        .values(final_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    session.refresh(order)
    events.emit_order_event(
        session, events.ORDER_FINALISED, order, lines_of(session, order), actor=actor
    )
    return True


def _schedule(session: Session, task: str, order: Order, delay: timedelta) -> None:
    jobs.enqueue(
        session,
        task,
        {"order_id": order.id},
        run_at=clock.now() + delay,
        idempotency_key=f"{task}:{order.id}:{order.status}",
    )


def _load(session: Session, payload: dict[str, Any]) -> Order | None:
    return session.get(Order, int(payload["order_id"]))


@jobs.task(EXPIRE_TASK)
def expire_unpaid(session: Session, payload: dict[str, Any]) -> None:
    order = _load(session, payload)
    if order is None or order.status != OrderStatus.PENDING_PAYMENT:
        return
    if order.payment_deadline is not None and order.payment_deadline > clock.now():
        # The deadline moved (or the job ran early): come back then.
        schedule_expiry(session, order)
        return
    try:
        cancel(session, order, actor=f"job:{EXPIRE_TASK}", reason="payment_timeout")
    except InvalidTransition:
        return  # paid a moment ago; nothing to do


@jobs.task(AUTO_COMPLETE_TASK)
def auto_complete(session: Session, payload: dict[str, Any]) -> None:
    order = _load(session, payload)
    if order is None or order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return
    try:
        confirm_receipt(
            session, order, actor=f"job:{AUTO_COMPLETE_TASK}", settings=current_settings()
        )
    except InvalidTransition:
        return


@jobs.task(FINALISE_TASK)
def finalise_after_return_window(session: Session, payload: dict[str, Any]) -> None:
    order = _load(session, payload)
    if order is None or order.final_at is not None or order.completed_at is None:
        return
    due = order.completed_at + timedelta(days=current_settings().order_return_window_days)
    if due > clock.now():
        jobs.enqueue(
            session,
            FINALISE_TASK,
            {"order_id": order.id},
            run_at=due,
            idempotency_key=f"{FINALISE_TASK}:{order.id}:{due.isoformat()}",
        )
        return
    finalise(session, order, actor=f"job:{FINALISE_TASK}")
