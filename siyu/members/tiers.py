"""Tier CRUD for operators: the ladder stays valid after every change.

A valid ladder: thresholds rise strictly with rank and the lowest tier starts at
growth 0 (every member has a tier). Changes are checked on the whole ladder after
the write (inside a savepoint, so a refused change leaves nothing behind), and every
change is audited. A tier that members hold or once held (``tier_change`` history)
cannot be deleted: history would lose its meaning.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.members import memberships
from siyu.members.errors import TierDuplicate, TierInUse, TierLadderInvalid, TierNotFound
from siyu.members.schemas import TierIn, TierOut, TierUpdate
from siyu.models.member import Membership, MemberTier, TierChange
from siyu.staff import audit
from siyu.staff.principal import Principal


def get(session: Session, tier_id: int) -> MemberTier:
    tier = session.get(MemberTier, tier_id)
    if tier is None:
        raise TierNotFound(data={"tier_id": tier_id})
    return tier


def check_ladder(session: Session) -> None:
    tiers = memberships.ladder(session)
    if not tiers:
        return
    if tiers[0].growth_threshold != 0:
        raise TierLadderInvalid(data={"lowest_threshold": tiers[0].growth_threshold})
    for lower, higher in zip(tiers, tiers[1:], strict=False):
        if higher.growth_threshold <= lower.growth_threshold:
            raise TierLadderInvalid(
                data={"rank": higher.rank, "growth_threshold": higher.growth_threshold}
            )


def _snapshot(tier: MemberTier) -> dict[str, Any]:
    return TierOut.model_validate(tier).model_dump(mode="json")


def _write(session: Session, tier: MemberTier, changes: dict[str, Any], *, new: bool) -> None:
    """Apply ``changes`` inside a savepoint (``begin_nested`` flushes what is pending
    first, so the changes must come after it) and check the whole ladder."""
    memberships.forget_ladder(session)
    try:
        with session.begin_nested():
            for field, value in changes.items():
                setattr(tier, field, value)
            if new:
                session.add(tier)
            session.flush()
            check_ladder(session)
    except IntegrityError as error:
        raise TierDuplicate(data={"code": changes.get("code", tier.code)}) from error
    finally:
        # The ladder read while checking may hold the rolled-back or changed tiers.
        memberships.forget_ladder(session)


def create(session: Session, principal: Principal, body: TierIn) -> MemberTier:
    now = clock.now()
    tier = MemberTier(created_at=now, updated_at=now)
    _write(session, tier, body.model_dump(), new=True)
    audit.record(
        session,
        principal,
        "members.tier.create",
        target_type="member_tier",
        target_id=tier.id,
        detail=_snapshot(tier),
    )
    return tier


def update(session: Session, principal: Principal, tier_id: int, body: TierUpdate) -> MemberTier:
    tier = get(session, tier_id)
    before = _snapshot(tier)
    changes = body.model_dump(exclude_unset=True)
    for field in ("code", "name", "rank", "growth_threshold", "discount_rate"):
        if field in changes and changes[field] is None:
            del changes[field]
    changes["updated_at"] = clock.now()
    try:
        _write(session, tier, changes, new=False)
    except (TierDuplicate, TierLadderInvalid):
        # The savepoint rolled back; reload what the row still holds.
        session.refresh(tier)
        raise
    audit.record(
        session,
        principal,
        "members.tier.update",
        target_type="member_tier",
        target_id=tier.id,
        detail={"before": before, "after": _snapshot(tier)},
    )
    return tier


def delete(session: Session, principal: Principal, tier_id: int) -> None:
    tier = get(session, tier_id)
    in_use = session.scalar(
        select(
            or_(
                exists().where(Membership.tier_id == tier_id),
                exists().where(
                    or_(TierChange.from_tier_id == tier_id, TierChange.to_tier_id == tier_id)
                ),
            )
        )
    )
    if in_use:
        raise TierInUse(data={"tier_id": tier_id})
    snapshot = _snapshot(tier)
    memberships.forget_ladder(session)
    try:
        with session.begin_nested():
            session.delete(tier)
            session.flush()
            check_ladder(session)
    finally:
        memberships.forget_ladder(session)
    audit.record(
        session,
        principal,
        "members.tier.delete",
        target_type="member_tier",
        target_id=tier_id,
        detail=snapshot,
    )
