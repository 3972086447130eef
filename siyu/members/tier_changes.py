"""Moving members between tiers: upgrades at once, downgrades only at the review.

A member's tier follows the growth earned in the current review period
(``period_growth``): growth that reaches a higher threshold upgrades at once; the
periodic review (job ``members.tier_review``) sets the tier the period's growth
earned — a member keeps a tier by re-earning its threshold within the period — and
starts a new period. Operators may set a tier by hand (reason required, audited).
Every change writes a ``tier_change`` row and the ``member.tier_changed`` event.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.members import memberships, program
from siyu.members.errors import TierNotFound, TierReasonRequired
from siyu.models.member import Membership, MemberTier, TierChange
from siyu.staff import audit
from siyu.staff.principal import Principal

TIER_CHANGED_EVENT = "member.tier_changed"
REVIEW_BATCH = 500


class Reason:
    UPGRADE = "upgrade"
    REVIEW = "review"
    ADJUST = "adjust"


def change(
    session: Session, membership: Membership, to: MemberTier, *, reason: str, actor: str
) -> None:
    from_tier = session.get(MemberTier, membership.tier_id)
    now = clock.now()
    membership.tier_id = to.id
    membership.tier_changed_at = now
    membership.updated_at = now
    session.add(
        TierChange(
            customer_id=membership.customer_id,
            from_tier_id=from_tier.id if from_tier else None,
            to_tier_id=to.id,
            reason=reason,
            growth_value=membership.growth_value,
            created_at=now,
        )
    )
    session.flush()
    outbox.emit(
        session,
        TIER_CHANGED_EVENT,
        {
            "customer_id": membership.customer_id,
            "from_tier_id": from_tier.id if from_tier else None,
            "from_tier": from_tier.code if from_tier else None,
            "from_rank": from_tier.rank if from_tier else None,
            "to_tier_id": to.id,
            "to_tier": to.code,
            "to_rank": to.rank,
            "reason": reason,
            "growth_value": membership.growth_value,
            "actor": actor,
        },
    )


def upgrade_if_earned(session: Session, membership: Membership) -> bool:
    """Called after growth rises: move up if the period's growth reaches a higher tier."""
    earned = memberships.tier_for_growth(session, membership.period_growth)
    current = session.get(MemberTier, membership.tier_id)
    if current is not None and earned.rank <= current.rank:
        return False
    change(session, membership, earned, reason=Reason.UPGRADE, actor="system")
    return True


def set_tier(
    session: Session, principal: Principal, customer_id: int, tier_id: int, *, reason: str
) -> Membership:
    reason = reason.strip()
    if not reason:
        raise TierReasonRequired()
    tier = session.get(MemberTier, tier_id)
    if tier is None:
        raise TierNotFound(data={"tier_id": tier_id})
    membership = memberships.ensure(session, customer_id)
    session.refresh(membership, with_for_update=True)
    before = membership.tier_id
    if before != tier.id:
        change(session, membership, tier, reason=Reason.ADJUST, actor=principal.username)
    audit.record(
        session,
        principal,
        "members.tier.set",
        target_type="customer",
        target_id=customer_id,
        detail={"from_tier_id": before, "to_tier_id": tier.id, "reason": reason[:200]},
    )
    return membership


def shift_months(moment: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months later (earlier when negative), the
    day clamped to the month's last (31 March minus one month is 28/29 February)."""
    total = moment.year * 12 + (moment.month - 1) + months
    year, month_index = divmod(total, 12)
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return moment.replace(year=year, month=month_index + 1, day=min(moment.day, last_day))


def review_due(session: Session, *, now: datetime | None = None, limit: int = REVIEW_BATCH) -> int:
    """Review up to ``limit`` memberships whose period ended; returns how many."""
    now = now or clock.now()
    config = program.current(session)
    cutoff = shift_months(now, -config.review_period_months)
    started = func.coalesce(Membership.tier_reviewed_at, Membership.joined_at)
    ids = list(
        session.scalars(
            select(Membership.customer_id)
            .where(started <= cutoff)
            .order_by(Membership.customer_id)
            .limit(limit)
        )
    )
    for customer_id in ids:
        review(session, customer_id, now=now)
    return len(ids)


def review(session: Session, customer_id: int, *, now: datetime) -> None:
    membership = session.get(Membership, customer_id, with_for_update=True, populate_existing=True)
    if membership is None:
        return
    earned = memberships.tier_for_growth(session, membership.period_growth)
    current = session.get(MemberTier, membership.tier_id)
    if current is None or earned.rank < current.rank:
        change(session, membership, earned, reason=Reason.REVIEW, actor="system")
    # A new period starts: growth from now on decides the next review.
    session.execute(
        update(Membership)
        .where(Membership.customer_id == customer_id)
        .values(period_growth=0, tier_reviewed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(membership)
