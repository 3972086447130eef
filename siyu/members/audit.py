"""``siyu points audit``: replay the ledgers and prove every balance.

For every membership the sums of its ledgers must equal the balances kept on the
row: available entries = ``points_balance``, frozen entries = ``points_frozen``, the
remaining of the available (frozen) lots = the same balances, growth entries =
``growth_value``; no balance is negative. Each sum is one grouped query over the
whole ledger, so the audit costs a scan per ledger, not a query per member.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.member import GrowthEntry, Membership, PointsEntry, PointsEntryStatus


@dataclass(frozen=True)
class Mismatch:
    customer_id: int
    check: str
    ledger: int
    balance: int


@dataclass(frozen=True)
class AuditReport:
    memberships: int
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _sums(session: Session, statement: object) -> dict[tuple[int, str], int]:
    sums: dict[tuple[int, str], int] = defaultdict(int)
    for customer_id, status, total in session.execute(statement):  # type: ignore[call-overload]
        sums[(customer_id, status)] += int(total or 0)
    return sums


def run(session: Session, *, customer_id: int | None = None) -> AuditReport:
    entries = select(
        PointsEntry.customer_id, PointsEntry.status, func.sum(PointsEntry.amount)
    ).group_by(PointsEntry.customer_id, PointsEntry.status)
    lots = (
        select(PointsEntry.customer_id, PointsEntry.status, func.sum(PointsEntry.remaining))
        .where(PointsEntry.amount > 0)
        .group_by(PointsEntry.customer_id, PointsEntry.status)
    )
    growth = select(GrowthEntry.customer_id, func.sum(GrowthEntry.amount)).group_by(
        GrowthEntry.customer_id
    )
    members = select(
        Membership.customer_id,
        Membership.points_balance,
        Membership.points_frozen,
        Membership.growth_value,
    )
    if customer_id is not None:
        entries = entries.where(PointsEntry.customer_id == customer_id)
        lots = lots.where(PointsEntry.customer_id == customer_id)
        growth = growth.where(GrowthEntry.customer_id == customer_id)
        members = members.where(Membership.customer_id == customer_id)
    entry_sums = _sums(session, entries)
    lot_sums = _sums(session, lots)
    growth_sums = {cid: int(total or 0) for cid, total in session.execute(growth)}
    available, frozen = PointsEntryStatus.AVAILABLE.value, PointsEntryStatus.FROZEN.value
    mismatches: list[Mismatch] = []
    seen: set[int] = set()
    for cid, points_balance, points_frozen, growth_value in session.execute(members):
        seen.add(cid)
        checks = (
            ("points_balance", entry_sums.get((cid, available), 0), points_balance),
            ("points_frozen", entry_sums.get((cid, frozen), 0), points_frozen),
            ("available_lots", lot_sums.get((cid, available), 0), points_balance),
            ("frozen_lots", lot_sums.get((cid, frozen), 0), points_frozen),
            ("growth_value", growth_sums.get(cid, 0), growth_value),
        )
        for check, ledger, kept in checks:
            if ledger != kept or kept < 0:
                mismatches.append(Mismatch(cid, check, ledger, kept))
    # Ledger rows of a customer without a membership explain no balance at all.
    orphans = {cid for cid, _status in entry_sums} | set(growth_sums)
    for cid in sorted(orphans - seen):
        mismatches.append(Mismatch(cid, "membership_missing", 0, 0))
    return AuditReport(memberships=len(seen), mismatches=mismatches)
