"""Coupons follow their order back (order.cancelled, order.refunded) and follow a
merged customer to the survivor.

A returned coupon becomes available again only while it is still valid; past its end
it becomes expired at once, so the buyer never sees a coupon that cannot be used.
Each return is a conditional UPDATE on ``status = used AND order_id = :order``, so a
redelivered event finds nothing left to do (handlers are idempotent).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.core import settings as settings_module
from siyu.core.db import rowcount
from siyu.customers.merge import register_repointer
from siyu.models.coupon import Coupon, CouponStatus, CouponTally
from siyu.orders import events as order_events

COUPON_RETURNED = "coupon.returned"


def return_for_order(session: Session, order_id: int, *, reason: str) -> int:
    """Give back every coupon used on ``order_id``; returns how many came back."""
    now = clock.now()
    coupons = session.scalars(
        select(Coupon).where(Coupon.order_id == order_id, Coupon.status == CouponStatus.USED)
    ).all()
    returned = 0
    for coupon in coupons:
        still_valid = coupon.valid_until > now
        matched = session.execute(
            update(Coupon)
            .where(
                Coupon.id == coupon.id,
                Coupon.status == CouponStatus.USED,
                Coupon.order_id == order_id,
            )
            .values(
                status=CouponStatus.AVAILABLE if still_valid else CouponStatus.EXPIRED,
                order_id=None,
                used_at=None,
                discount_amount=0,
                expired_at=None if still_valid else now,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(matched) != 1:
            continue
        returned += 1
        outbox.emit(
            session,
            COUPON_RETURNED,
            {
                "coupon_id": coupon.id,
                "template_id": coupon.template_id,
                "customer_id": coupon.customer_id,
                "order_id": order_id,
                "reason": reason,
                "status": "available" if still_valid else "expired",
            },
        )
    session.expire_all()
    return returned


@outbox.handler(order_events.ORDER_CANCELLED, name="coupons.return_on_cancel")
def on_order_cancelled(session: Session, event: outbox.DomainEvent) -> None:
    return_for_order(session, int(event.payload["order_id"]), reason="cancelled")


@outbox.handler(order_events.ORDER_REFUNDED, name="coupons.return_on_refund")
def on_order_refunded(session: Session, event: outbox.DomainEvent) -> None:
    # Only a full refund gives the coupon back: after a partial one the buyer keeps
    # goods that were priced with it.
    if not event.payload.get("is_full") or not settings_module.current().coupon_return_on_refund:
        return
    return_for_order(session, int(event.payload["order_id"]), reason="refunded")


def _repoint_coupons(session: Session, survivor_id: int, merged_id: int) -> int:
    result = session.execute(
        update(Coupon)
        .where(Coupon.customer_id == merged_id)
        .values(customer_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _merge_tallies(session: Session, survivor_id: int, merged_id: int) -> int:
    """Claims of both people count towards the survivor's limits: one person, one limit."""
    survivor = {
        row.template_id: row
        for row in session.scalars(
            select(CouponTally).where(CouponTally.customer_id == survivor_id)
        )
    }
    moved = 0
    for row in session.scalars(
        select(CouponTally).where(CouponTally.customer_id == merged_id)
    ).all():
        kept = survivor.get(row.template_id)
        if kept is None:
            session.add(
                CouponTally(
                    template_id=row.template_id,
                    customer_id=survivor_id,
                    claimed_total=row.claimed_total,
                    day=row.day,
                    claimed_on_day=row.claimed_on_day,
                )
            )
        else:
            kept.claimed_total += row.claimed_total
            if row.day == kept.day:
                kept.claimed_on_day += row.claimed_on_day
            elif row.day > kept.day:
                kept.day, kept.claimed_on_day = row.day, row.claimed_on_day
        moved += 1
    session.flush()
    session.execute(
        delete(CouponTally)
        .where(CouponTally.customer_id == merged_id)
        .execution_options(synchronize_session=False)
    )
    return moved


register_repointer("coupon", _repoint_coupons)
register_repointer("coupon_tally", _merge_tallies)
