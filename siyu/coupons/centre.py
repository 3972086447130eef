"""What a customer sees of templates: the coupon centre with each template's state
for them, and their own coupons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.coupons import issuing
from siyu.models.coupon import (
    Coupon,
    CouponSource,
    CouponStatus,
    CouponTally,
    CouponTemplate,
    TemplateStatus,
)

STATUSES = frozenset(status.value for status in CouponStatus)


def state_for(
    session: Session,
    template: CouponTemplate,
    customer_id: int | None,
    now: datetime,
    *,
    source: CouponSource = CouponSource.CLAIM,
) -> tuple[str, int]:
    """(state, how many the customer claimed) — the same checks ``issue`` makes, in the
    order a buyer cares about."""
    problem = issuing.claim_problem(template, source, now)
    if problem is not None:
        return ("not_started" if problem == "not_started" else "ended"), 0
    claimed = 0
    if customer_id is not None:
        tally = session.get(CouponTally, (template.id, customer_id))
        if tally is not None:
            claimed = tally.claimed_total
            today = issuing.shop_today(now)
            per_customer = template.per_customer_limit
            per_day = template.per_day_limit
            if (per_customer is not None and tally.claimed_total >= per_customer) or (
                per_day is not None and tally.day == today and tally.claimed_on_day >= per_day
            ):
                return "limit_reached", claimed
    if template.total_quantity is not None and template.issued_count >= template.total_quantity:
        return "sold_out", claimed
    if customer_id is not None and not issuing.tier_allows(session, template, customer_id):
        return "tier_required", claimed
    return ("claimed" if claimed else "claimable"), claimed


def centre_templates(session: Session, now: datetime) -> list[CouponTemplate]:
    statement = (
        select(CouponTemplate)
        .where(
            CouponTemplate.status == TemplateStatus.ACTIVE,
            CouponTemplate.in_coupon_centre.is_(True),
            (CouponTemplate.claim_ends_at.is_(None)) | (CouponTemplate.claim_ends_at > now),
            (CouponTemplate.valid_until.is_(None)) | (CouponTemplate.valid_until > now),
        )
        .order_by(CouponTemplate.id.desc())
        .limit(100)
    )
    items = list(session.scalars(statement))
    for template in items:
        session.refresh(template)
    return items


def mine(
    session: Session, customer_id: int, status: str | None
) -> list[tuple[Coupon, CouponTemplate]]:
    statement = (
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.customer_id == customer_id)
        .order_by(Coupon.valid_until, Coupon.id)
        .limit(200)
    )
    if status:
        statement = statement.where(Coupon.status == status)
    return list(session.execute(statement))
