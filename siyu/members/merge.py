"""When two customers merge, the merged member's membership folds into the survivor's.

Registered as a synchronous re-pointer (``siyu.customers.merge``), so it happens in
the merge's own transaction: balances, frozen points and growth are added to the
survivor's row, every ledger row is re-pointed (so ``siyu points audit`` still
balances), the higher of the two tiers is kept and the merged membership is removed.
A (kind, reference) the survivor already has — both completed the profile task, both
got this year's birthday points — keeps its row under a reference suffixed with the
merged id, since the unique key is per customer and both rows are real history.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from siyu.core import clock
from siyu.core.db import rowcount
from siyu.core.outbox import DomainEvent, handler
from siyu.customers.merge import MERGED_EVENT, register_repointer
from siyu.members import memberships, tier_changes
from siyu.models.member import GrowthEntry, Membership, MemberTier, PointsEntry, TierChange


def _suffixed(reference: str | None, merged_id: int) -> str:
    suffix = f"~m{merged_id}"
    return (reference or "")[: 80 - len(suffix)] + suffix


def _repoint_ledger(
    session: Session,
    model: type[PointsEntry] | type[GrowthEntry],
    kind_column: InstrumentedAttribute[str],
    survivor_id: int,
    merged_id: int,
) -> int:
    """Re-point one ledger's rows; ``kind_column`` + reference is its per-customer key."""
    taken: set[tuple[str, str | None]] = {
        (kind, reference)
        for kind, reference in session.execute(
            select(kind_column, model.reference).where(model.customer_id == survivor_id)
        )
    }
    entries: list[PointsEntry | GrowthEntry] = list(
        session.scalars(select(model).where(model.customer_id == merged_id))
    )
    for entry in entries:
        if (getattr(entry, kind_column.key), entry.reference) in taken:
            entry.reference = _suffixed(entry.reference, merged_id)
    session.flush()
    return rowcount(
        session.execute(
            update(model)
            .where(model.customer_id == merged_id)
            .values(customer_id=survivor_id)
            .execution_options(synchronize_session=False)
        )
    )


def fold(session: Session, survivor_id: int, merged_id: int) -> int:
    merged = session.get(Membership, merged_id)
    if merged is None:
        return 0
    survivor = memberships.ensure(session, survivor_id)
    session.refresh(survivor, with_for_update=True)
    moved = _repoint_ledger(session, PointsEntry, PointsEntry.kind, survivor_id, merged_id)
    moved += _repoint_ledger(session, GrowthEntry, GrowthEntry.source, survivor_id, merged_id)
    session.execute(
        update(TierChange)
        .where(TierChange.customer_id == merged_id)
        .values(customer_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Membership)
        .where(Membership.customer_id == survivor_id)
        .values(
            points_balance=Membership.points_balance + merged.points_balance,
            points_frozen=Membership.points_frozen + merged.points_frozen,
            growth_value=Membership.growth_value + merged.growth_value,
            period_growth=Membership.period_growth + merged.period_growth,
            joined_at=min(survivor.joined_at, merged.joined_at),
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    merged_tier = session.get(MemberTier, merged.tier_id)
    session.delete(merged)
    session.flush()
    session.refresh(survivor)
    survivor_tier = session.get(MemberTier, survivor.tier_id)
    if (
        merged_tier is not None
        and survivor_tier is not None
        and merged_tier.rank > survivor_tier.rank
    ):
        tier_changes.change(
            session, survivor, merged_tier, reason=tier_changes.Reason.ADJUST, actor="merge"
        )
    return moved + 1


register_repointer("membership", fold)


@handler(MERGED_EVENT, name="members.fold_late_writes")
def fold_late_writes(session: Session, event: DomainEvent) -> None:
    """A membership created for the merged id after the merge's re-pointer ran (an
    order event in flight resolved the id just before the merge committed) folds in
    too; with nothing left to fold this does nothing."""
    fold(session, int(event.payload["survivor_id"]), int(event.payload["merged_id"]))
