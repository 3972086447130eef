"""Payments: starting one for an order, and what a verified provider notice does.

A notice is applied exactly once: its (provider, notification id) is inserted with
insert-or-nothing, so a notification delivered twice — or by two threads at once —
changes state only the first time. Then:

- unknown payment, or an amount that differs from what we asked → rejected and
  flagged (``payment.flagged``) for an operator; the order is not paid;
- the order is waiting → paid (stock committed, ``order.paid``);
- the order was cancelled meanwhile (payment timeout) or is already paid through
  another payment → the money is refunded automatically, in full. We refund rather
  than revive the order: its stock was released and may be sold, and a customer who
  waited past the deadline gets their money back without an operator (decision 0005).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.core import clock, jobs, outbox
from siyu.core.db import rowcount
from siyu.core.settings import Settings
from siyu.core.settings import current as current_settings
from siyu.models.base import new_public_id
from siyu.models.customer import CustomerIdentity, IdentityKind
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import (
    NotificationOutcome,
    Payment,
    PaymentNotification,
    PaymentStatus,
)
from siyu.orders import events, lifecycle, refunds
from siyu.orders.errors import PaymentNotAllowed
from siyu.orders.payments import registry
from siyu.orders.payments.provider import PaymentNotice, PrepayRequest

ACTOR_PREFIX = "payment:"


@dataclass(frozen=True)
class PendingPayment:
    """What is needed to ask the provider, read before the network call."""

    payment_id: int
    provider: str
    request: PrepayRequest
    client_parameters: dict[str, Any]


def _payer_openid(session: Session, customer_id: int, settings: Settings) -> str | None:
    return session.scalar(
        select(CustomerIdentity.value).where(
            CustomerIdentity.customer_id == customer_id,
            CustomerIdentity.kind == IdentityKind.MP_OPENID,
            CustomerIdentity.namespace == (settings.wechat_mp_appid or ""),
        )
    )


def open_payment(
    session: Session, order: Order, *, provider: str, settings: Settings
) -> PendingPayment:
    """The order's pending payment with ``provider``, created when there is none."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise PaymentNotAllowed(data={"order": order.public_id, "status": order.status})
    if order.payment_deadline is not None and order.payment_deadline <= clock.now():
        raise PaymentNotAllowed(
            "The time to pay this order has run out.",
            data={"order": order.public_id, "reason": "deadline_passed"},
        )
    if provider not in registry.PROVIDER_NAMES:
        raise PaymentNotAllowed(f"Unknown payment provider {provider!r}.")
    payment = session.scalars(
        select(Payment)
        .where(
            Payment.order_id == order.id,
            Payment.provider == provider,
            Payment.status == PaymentStatus.PENDING,
            Payment.amount == order.total_amount,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    ).first()
    if payment is None:
        payment = Payment(
            public_id=new_public_id("pay"),
            order_id=order.id,
            provider=provider,
            status=PaymentStatus.PENDING,
            amount=order.total_amount,
        )
        session.add(payment)
        session.flush()
    assert order.payment_deadline is not None
    return PendingPayment(
        payment_id=payment.id,
        provider=provider,
        request=PrepayRequest(
            out_trade_no=payment.public_id,
            amount=payment.amount,
            description=f"订单 {order.public_id}"[:127],
            expires_at=order.payment_deadline,
            # Only WeChat Pay needs the payer's openid (JSAPI).
            payer_openid=(
                _payer_openid(session, order.customer_id, settings)
                if provider == "wechatpay"
                else None
            ),
        ),
        client_parameters=dict(payment.client_parameters or {}),
    )


def store_client_parameters(session: Session, payment_id: int, parameters: dict[str, Any]) -> None:
    session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.PENDING)
        .values(client_parameters=parameters, updated_at=clock.now())
    )


def _record_once(session: Session, notice: PaymentNotice) -> int | None:
    """Insert the notification row; None when it was seen before."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(
        insert(PaymentNotification)
        .values(
            provider=notice.provider,
            notification_id=notice.notification_id[:64],
            kind=notice.kind,
            event_type=notice.event_type[:64],
            out_trade_no=(notice.out_refund_no if notice.kind == "refund" else notice.out_trade_no),
            resource=notice.resource,
            outcome=NotificationOutcome.APPLIED.value,
            received_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["provider", "notification_id"])
        .returning(PaymentNotification.id)
    )
    return result.scalar_one_or_none()


def _conclude(
    session: Session,
    notification_id: int,
    outcome: NotificationOutcome,
    detail: str = "",
    *,
    flagged: bool = False,
) -> NotificationOutcome:
    # The row was inserted as "applied" with no detail: the common case writes nothing more.
    if outcome != NotificationOutcome.APPLIED or detail or flagged:
        session.execute(
            update(PaymentNotification)
            .where(PaymentNotification.id == notification_id)
            .values(outcome=outcome.value, detail=detail[:300], is_flagged=flagged)
        )
    if flagged:
        outbox.emit(
            session,
            events.PAYMENT_FLAGGED,
            {"notification_id": notification_id, "outcome": outcome.value, "detail": detail},
        )
    return outcome


def apply_notice(session: Session, notice: PaymentNotice) -> NotificationOutcome:
    notification_id = _record_once(session, notice)
    if notification_id is None:
        return NotificationOutcome.DUPLICATE
    if notice.kind == "refund":
        return _apply_refund_notice(session, notification_id, notice)
    if not notice.succeeded:
        return _conclude(session, notification_id, NotificationOutcome.DUPLICATE, "not a success")
    payment = session.scalars(
        select(Payment).where(
            Payment.public_id == notice.out_trade_no, Payment.provider == notice.provider
        )
    ).one_or_none()
    if payment is None:
        return _conclude(
            session,
            notification_id,
            NotificationOutcome.REJECTED,
            "unknown out_trade_no",
            flagged=True,
        )
    if notice.amount != payment.amount:
        return _conclude(
            session,
            notification_id,
            NotificationOutcome.REJECTED,
            f"amount mismatch: expected {payment.amount}, notified {notice.amount}",
            flagged=True,
        )
    paid_at = notice.occurred_at or clock.now()
    # pending → succeeded, or closed → succeeded: money that arrived after we closed it.
    result = session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status.in_([PaymentStatus.PENDING, PaymentStatus.CLOSED]),
        )
        .values(
            status=PaymentStatus.SUCCEEDED,
            provider_transaction_id=notice.transaction_id or None,
            payer_openid=notice.payer_openid,
            paid_at=paid_at,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return _conclude(session, notification_id, NotificationOutcome.DUPLICATE, "already paid")
    # Read the order's current row even if this session saw it before: the auto-cancel
    # job may have moved it meanwhile.
    order = session.get(Order, payment.order_id, populate_existing=True)
    assert order is not None
    if order.status == OrderStatus.PENDING_PAYMENT:
        lifecycle.mark_paid(
            session, order, amount=payment.amount, actor=ACTOR_PREFIX + notice.provider
        )
        return _conclude(session, notification_id, NotificationOutcome.APPLIED)
    session.refresh(payment)
    refunds.refund_payment_in_full(
        session, order, payment, reason=f"paid while order was {order.status}"
    )
    return _conclude(
        session, notification_id, NotificationOutcome.REFUNDED_LATE, f"order was {order.status}"
    )


def _apply_refund_notice(
    session: Session, notification_id: int, notice: PaymentNotice
) -> NotificationOutcome:
    refund = refunds.find_by_public_id(session, notice.out_refund_no or "")
    if refund is None:
        return _conclude(
            session,
            notification_id,
            NotificationOutcome.REJECTED,
            "unknown out_refund_no",
            flagged=True,
        )
    settled = refunds.settle(
        session,
        refund,
        succeeded=notice.succeeded,
        provider_refund_id=notice.refund_id,
        detail=notice.event_type,
    )
    outcome = NotificationOutcome.APPLIED if settled else NotificationOutcome.DUPLICATE
    return _conclude(session, notification_id, outcome)


@jobs.task(lifecycle.CLOSE_PAYMENT_TASK)
def close_at_provider(session: Session, payload: dict[str, Any]) -> None:
    payment = session.get(Payment, int(payload["payment_id"]))
    if payment is None or payment.status != PaymentStatus.CLOSED:
        return
    provider_name, out_trade_no = payment.provider, payment.public_id
    # End the read before the network call: no transaction is held while waiting.
    session.rollback()
    registry.provider_for(provider_name, current_settings()).close(out_trade_no)
