"""What the console and the member centre show: a membership summary and the ledger.

Reads only: a customer who is not a member yet sees the base tier and zeros (nothing
is created by looking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.pagination import check_limit, decode_cursor, encode_cursor
from siyu.members import memberships, program, tier_changes
from siyu.models.member import (
    Membership,
    MemberTier,
    PointsEntry,
    PointsEntryStatus,
    TierChange,
)


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_at: datetime


@dataclass
class Summary:
    customer_id: int
    membership: Membership | None
    tier: MemberTier | None
    next_tier: MemberTier | None
    growth_to_next: int | None
    expiring: Expiring | None
    next_review_at: datetime | None
    tier_changes: list[TierChange] = field(default_factory=list)

    @property
    def points_available(self) -> int:
        return self.membership.points_balance if self.membership else 0

    @property
    def points_frozen(self) -> int:
        return self.membership.points_frozen if self.membership else 0

    @property
    def growth_value(self) -> int:
        return self.membership.growth_value if self.membership else 0

    @property
    def period_growth(self) -> int:
        return self.membership.period_growth if self.membership else 0


def next_expiring(session: Session, customer_id: int, *, within_days: int) -> Expiring | None:
    """The soonest batch of available points expiring within ``within_days``."""
    now = clock.now()
    first = session.scalar(
        select(func.min(PointsEntry.expires_at)).where(
            PointsEntry.customer_id == customer_id,
            PointsEntry.status == PointsEntryStatus.AVAILABLE,
            PointsEntry.remaining > 0,
            PointsEntry.expires_at > now,
        )
    )
    if first is None or (first - now).days >= within_days:
        return None
    total = session.scalar(
        select(func.sum(PointsEntry.remaining)).where(
            PointsEntry.customer_id == customer_id,
            PointsEntry.status == PointsEntryStatus.AVAILABLE,
            PointsEntry.expires_at == first,
        )
    )
    return Expiring(int(total or 0), first)


def summary(session: Session, customer_id: int, *, changes: int = 0) -> Summary:
    membership = session.get(Membership, customer_id, populate_existing=True)
    ladder = memberships.ladder(session)
    tier = None
    if membership is not None:
        tier = session.get(MemberTier, membership.tier_id)
    elif ladder:
        tier = ladder[0]
    higher = [t for t in ladder if tier is not None and t.rank > tier.rank]
    next_tier = higher[0] if higher else None
    period_growth = membership.period_growth if membership else 0
    config = program.current(session)
    expiring = (
        next_expiring(session, customer_id, within_days=config.reminder_days)
        if membership
        else None
    )
    reviewed = (membership.tier_reviewed_at or membership.joined_at) if membership else None
    recent: list[TierChange] = []
    if changes and membership is not None:
        recent = list(
            session.scalars(
                select(TierChange)
                .where(TierChange.customer_id == customer_id)
                .order_by(TierChange.id.desc())
                .limit(changes)
            )
        )
    return Summary(
        customer_id=customer_id,
        membership=membership,
        tier=tier,
        next_tier=next_tier,
        growth_to_next=(
            max(next_tier.growth_threshold - period_growth, 0) if next_tier is not None else None
        ),
        expiring=expiring,
        next_review_at=(
            tier_changes.shift_months(reviewed, config.review_period_months) if reviewed else None
        ),
        tier_changes=recent,
    )


def ledger_page(
    session: Session, customer_id: int, *, limit: int, cursor: str | None
) -> tuple[list[PointsEntry], str | None]:
    """Newest first, keyset-paged by id."""
    check_limit(limit)
    statement = select(PointsEntry).where(PointsEntry.customer_id == customer_id)
    if cursor:
        (before_id,) = decode_cursor(cursor, parts=1)
        statement = statement.where(PointsEntry.id < before_id)
    rows = list(session.scalars(statement.order_by(PointsEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more and rows else None
