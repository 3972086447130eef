"""A promoter's account: the only place its balances move.

Each movement is one ledger row plus one conditional UPDATE of the balances, in the
caller's transaction:

1. The ledger row is inserted first, insert-or-nothing on ``(promoter_id,
   reference)``: a redelivered event or a retried job finds its row there and moves
   nothing (exactly once, without a read-then-write race).
2. The balances move by ``SET x = x + :delta WHERE x + :delta >= 0`` for every bucket
   that shrinks. Two racing withdrawals both reach the UPDATE; the row lock orders
   them, and the database re-checks the WHERE against the committed balance, so the
   second finds too little and moves nothing — a balance never goes below zero (the
   CHECK constraints are the last line of defence, never the first).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.orm import Session

from siyu.campaigns.referral.errors import InsufficientBalance
from siyu.core import clock
from siyu.core.db import dialect_insert, rowcount
from siyu.models.referral import LedgerKind, Promoter, PromoterLedger


@dataclass(frozen=True)
class Deltas:
    frozen: int = 0
    withdrawable: int = 0
    withdrawing: int = 0
    withdrawn: int = 0


_COLUMNS = {
    "frozen": Promoter.frozen_amount,
    "withdrawable": Promoter.withdrawable_amount,
    "withdrawing": Promoter.withdrawing_amount,
    "withdrawn": Promoter.withdrawn_amount,
}


def move(
    session: Session,
    promoter_id: int,
    kind: LedgerKind,
    reference: str,
    deltas: Deltas,
    *,
    commission_id: int | None = None,
    withdrawal_id: int | None = None,
) -> bool:
    """Move the balances by ``deltas`` once per ``reference``; False when this
    reference already moved them. Raises :class:`InsufficientBalance` (and the caller's
    transaction rolls back) when a bucket would go below zero."""
    inserted = session.execute(
        dialect_insert(session, PromoterLedger)
        .values(
            promoter_id=promoter_id,
            kind=kind.value,
            reference=reference[:80],
            frozen_delta=deltas.frozen,
            withdrawable_delta=deltas.withdrawable,
            withdrawing_delta=deltas.withdrawing,
            withdrawn_delta=deltas.withdrawn,
            commission_id=commission_id,
            withdrawal_id=withdrawal_id,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["promoter_id", "reference"])
        # RETURNING, not rowcount: PostgreSQL reports no rowcount for an INSERT that
        # returns its key; no row back means the reference was there already.
        .returning(PromoterLedger.id)
    ).first()
    if inserted is None:
        return False
    values = {}
    guards: list[ColumnElement[bool]] = []
    for name, column in _COLUMNS.items():
        delta = getattr(deltas, name)
        if delta:
            values[column.key] = column + delta
            if delta < 0:
                guards.append(column + delta >= 0)
    if not values:
        return True
    moved = session.execute(
        update(Promoter)
        .where(Promoter.id == promoter_id, and_(*guards) if guards else Promoter.id.is_not(None))
        .values(**values, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise InsufficientBalance(data={"promoter_id": promoter_id, "reference": reference})
    return True
