"""Memberships: created on first need, in the base tier; the tier lookups.

``ensure`` is safe under races: two requests creating the same membership (or the
base tier of an empty ladder) both insert-or-nothing on the unique keys and then
read the one row that won.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.db import cached_for_transaction, dialect_insert, forget_cached
from siyu.core.settings import current as current_settings
from siyu.models.member import Membership, MemberTier, TierChange

BASE_TIER_CODE = "normal"
BASE_TIER_NAME = "普通会员"
BASE_TIER_NAME_EN = "Member"


_LADDER_KEY = "members.ladder"


def ladder(session: Session) -> list[MemberTier]:
    """The tiers by rank, read once per transaction: every paid order asks for them
    (tier of its growth), and they change only through ``siyu.members.tiers``, which
    calls ``forget_ladder``."""
    tiers = cached_for_transaction(
        session,
        _LADDER_KEY,
        lambda: list(session.scalars(select(MemberTier).order_by(MemberTier.rank))),
    )
    return list(tiers)


def forget_ladder(session: Session) -> None:
    forget_cached(session, _LADDER_KEY)


@event.listens_for(Session, "before_flush")
def _tiers_changing(session: Session, _context: Any, _instances: Any) -> None:
    # Tiers written any other way than ``siyu.members.tiers`` (a test factory, a
    # script) must not leave a stale ladder behind either.
    if _LADDER_KEY in session.info and any(
        isinstance(instance, MemberTier)
        for instance in (*session.new, *session.dirty, *session.deleted)
    ):
        forget_ladder(session)


def base_tier(session: Session) -> MemberTier:
    """The lowest tier; an empty ladder gets "普通会员" at threshold 0."""
    tiers = ladder(session)
    if tiers:
        return tiers[0]
    forget_ladder(session)
    now = clock.now()
    # Insert-or-nothing: a racing request may create it first (any unique key).
    session.execute(
        dialect_insert(session, MemberTier)
        .values(
            code=BASE_TIER_CODE,
            name=BASE_TIER_NAME,
            name_en=BASE_TIER_NAME_EN,
            rank=0,
            growth_threshold=0,
            discount_rate=10000,
            points_multiplier=100,
            birthday_points=0,
            description="",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    tier = session.scalars(select(MemberTier).order_by(MemberTier.rank).limit(1)).first()
    assert tier is not None
    return tier


def tier_for_growth(session: Session, growth: int) -> MemberTier:
    """The highest tier whose threshold ``growth`` reaches (thresholds rise with rank)."""
    reached = [tier for tier in ladder(session) if tier.growth_threshold <= growth]
    return reached[-1] if reached else base_tier(session)


def get(session: Session, customer_id: int) -> Membership | None:
    return session.get(Membership, customer_id)


def tier_of(session: Session, customer_id: int) -> MemberTier | None:
    membership = get(session, customer_id)
    if membership is None:
        return None
    return session.get(MemberTier, membership.tier_id)


# The insert-or-nothing of a new membership, per dialect, built on first use.
_INSERTS: dict[str, Any] = {}


def ensure(session: Session, customer_id: int) -> Membership:
    membership = get(session, customer_id)
    if membership is not None:
        return membership
    tier = base_tier(session)
    now = clock.now()
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        _INSERTS[dialect] = (
            dialect_insert(session, Membership)
            .on_conflict_do_nothing(index_elements=["customer_id"])
            .returning(Membership)
        )
    created = session.scalars(
        _INSERTS[dialect],
        [
            {
                "customer_id": customer_id,
                "tier_id": tier.id,
                "growth_value": 0,
                "points_balance": 0,
                "points_frozen": 0,
                "joined_at": now,
                "timezone": current_settings().timezone,
                "tier_changed_at": now,
                # The first review period runs from joining.
                "tier_reviewed_at": now,
                "period_growth": 0,
                "created_at": now,
                "updated_at": now,
            }
        ],
    ).one_or_none()
    if created is not None:
        session.add(
            TierChange(
                customer_id=customer_id,
                from_tier_id=None,
                to_tier_id=tier.id,
                reason="join",
                growth_value=0,
                created_at=now,
            )
        )
        session.flush()
        from siyu.members import schedule

        schedule.ensure_daily(session)
        return created
    membership = session.get(Membership, customer_id, populate_existing=True)
    assert membership is not None
    return membership
