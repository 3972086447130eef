"""How members react to order events: growth and points follow the money.

- ``order.paid``: growth for the paid amount, and points earned *frozen* (they wait
  for the return window) at the member's tier multiplier and the member-day
  multiplier of the moment of payment; the automatic growth tasks are checked.
- ``order.finalised``: the order's frozen points become available.
- ``order.refunded``: pro rata of the refunded amount (cumulative over partial
  refunds, so rounding never drifts and a full refund reverses exactly everything):
  growth is reduced, earned points reversed (policy ``reverse_earned``) and spent
  points given back as a new lot (policy ``return_spent``).
- ``order.cancelled`` (unpaid orders): every point spent at checkout comes back.

Points are computed with the tier held when the order was paid, before the growth
of that same order upgrades it. Every handler is idempotent by its references.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.outbox import DomainEvent, handler
from siyu.customers.merge import resolve_customer_id
from siyu.members import benefits, growth, memberships, points, program
from siyu.members.growth import Source
from siyu.models.member import GrowthEntry
from siyu.orders import events


def _customer_id(session: Session, payload: dict[str, Any]) -> int:
    """The live customer: an event written before a merge names the merged id, whose
    membership now lives on the survivor."""
    given = int(payload["customer_id"])
    return resolve_customer_id(session, given) or given


def _multiplier_for(session: Session, customer_id: int, event: DomainEvent) -> int:
    return int(benefits.points_multiplier_for(session, customer_id, event.occurred_at))


def points_for_paid(
    session: Session, paid_amount: int, tier_multiplier: int, day_multiplier: int
) -> int:
    """floor(paid yuan × points_per_yuan × tier % × member-day %), in integers."""
    per_yuan = program.current(session).points_per_yuan
    return paid_amount * per_yuan * tier_multiplier * day_multiplier // (100 * 100 * 100)


@handler(events.ORDER_PAID, name="members.order_paid")
def on_order_paid(session: Session, event: DomainEvent) -> None:
    launch = program.current(session).counts_from
    if launch is not None and event.occurred_at < launch:
        # Paid before the program started: nothing to earn, nor to reverse later (the
        # refund, cancel and finalise handlers find nothing for such orders).
        return
    payload: dict[str, Any] = event.payload
    customer_id, order_id = _customer_id(session, payload), payload["order_id"]
    paid = int(payload.get("paid_amount") or 0)
    membership = memberships.ensure(session, customer_id)
    tier = memberships.tier_of(session, membership.customer_id)
    earned = points_for_paid(
        session,
        paid,
        tier.points_multiplier if tier else 100,
        _multiplier_for(session, customer_id, event),
    )
    if earned > 0:
        points.earn(
            session,
            customer_id,
            earned,
            reference=f"order:{order_id}",
            reason="order",
            order_id=order_id,
            frozen=True,
        )
    growth.add(
        session,
        customer_id,
        growth.for_paid_amount(session, paid),
        source=Source.ORDER,
        reference=f"order:{order_id}",
        reason="order",
    )
    growth.automatic_tasks(session, customer_id)


@handler(events.ORDER_FINALISED, name="members.order_finalised")
def on_order_finalised(session: Session, event: DomainEvent) -> None:
    points.thaw_order(session, _customer_id(session, event.payload), event.payload["order_id"])


def _share(total: int, payload: dict[str, Any]) -> int:
    """What the refunds so far take of ``total``: all of it for a full refund."""
    paid = int(payload.get("paid_amount") or 0)
    if payload.get("is_full") or paid <= 0:
        return total
    refunded = min(int(payload.get("refunded_amount") or 0), paid)
    return total * refunded // paid


def _reduce_growth(session: Session, customer_id: int, payload: dict[str, Any]) -> None:
    order_id = payload["order_id"]
    given = session.scalar(
        select(GrowthEntry.amount).where(
            GrowthEntry.customer_id == customer_id,
            GrowthEntry.source == Source.ORDER,
            GrowthEntry.reference == f"order:{order_id}",
        )
    )
    if not given:
        return
    prefix = f"refund:{order_id}:"
    taken = -int(
        session.scalar(
            select(func.coalesce(func.sum(GrowthEntry.amount), 0)).where(
                GrowthEntry.customer_id == customer_id,
                GrowthEntry.source == Source.REFUND,
                GrowthEntry.reference.startswith(prefix),
            )
        )
        or 0
    )
    growth.reduce(
        session,
        customer_id,
        _share(given, payload) - taken,
        source=Source.REFUND,
        reference=f"{prefix}{payload['refund_id']}",
        reason="refund",
    )


@handler(events.ORDER_REFUNDED, name="members.order_refunded")
def on_order_refunded(session: Session, event: DomainEvent) -> None:
    payload = event.payload
    customer_id, order_id = _customer_id(session, payload), payload["order_id"]
    if memberships.get(session, customer_id) is None:
        return
    policy = program.current(session).refund_policy
    reference = f"refund:{payload['refund_id']}"
    if policy.reverse_earned:
        earned = points.find(session, customer_id, points.Kind.EARN, f"order:{order_id}")
        if earned is not None:
            wanted = _share(earned.amount, payload) - points.reversed_for(session, earned)
            points.claw_back(session, earned, wanted, reference=reference, reason="refund")
    if policy.return_spent:
        spent = points.find(session, customer_id, points.Kind.SPEND, f"order:{order_id}")
        if spent is not None:
            wanted = _share(-spent.amount, payload) - points.returned_for(session, spent)
            if wanted > 0:
                points.refund_spend(
                    session,
                    customer_id,
                    spend_reference=spent.reference or "",
                    amount=wanted,
                    reference=reference,
                    reason="refund",
                )
    _reduce_growth(session, customer_id, payload)


@handler(events.ORDER_CANCELLED, name="members.order_cancelled")
def on_order_cancelled(session: Session, event: DomainEvent) -> None:
    customer_id, order_id = _customer_id(session, event.payload), event.payload["order_id"]
    spent = points.find(session, customer_id, points.Kind.SPEND, f"order:{order_id}")
    if spent is None:
        return
    points.refund_spend(
        session,
        customer_id,
        spend_reference=f"order:{order_id}",
        amount=-spent.amount,
        reference="cancel",
        reason="order cancelled",
    )
