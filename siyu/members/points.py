"""The points ledger: the only code that writes ``points_entry`` and the balances.

Rules (see ``siyu.models.member.PointsEntry``):

- ``points_balance`` = Σ amount of available entries, ``points_frozen`` = Σ amount
  of frozen entries, and also Σ ``remaining`` of the positive available (frozen)
  entries, the lots. ``siyu points audit`` proves all three.
- Every change starts with one conditional UPDATE of the membership row
  (``points_balance = points_balance + :delta WHERE points_balance + :delta >= 0``
  RETURNING the new balance), never a read-then-write, so racing spends cannot
  overdraw. On PostgreSQL that UPDATE also locks the row until commit: whatever the
  operation does next (consume lots FIFO, write its entry) runs one customer at a
  time. SQLite has a single writer anyway.
- Entries are idempotent by (customer, kind, reference): a repeated event or retried
  request finds the entry already written and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.db import dialect_insert
from siyu.core.settings import current as current_settings
from siyu.members import memberships, program
from siyu.members.errors import (
    PointsInsufficient,
    PointsInvalidAmount,
    ReasonRequired,
    SpendNotFound,
)
from siyu.members.program import ExpiryPolicy
from siyu.models.member import Membership, PointsEntry, PointsEntryKind, PointsEntryStatus
from siyu.staff import audit
from siyu.staff.principal import Principal

Kind = PointsEntryKind
Status = PointsEntryStatus


def balance(session: Session, customer_id: int) -> tuple[int, int]:
    """(available, frozen), read from the membership row: O(1), no ledger scan."""
    row = session.execute(
        select(Membership.points_balance, Membership.points_frozen).where(
            Membership.customer_id == customer_id
        )
    ).first()
    return (row[0], row[1]) if row is not None else (0, 0)


def expires_at_for(session: Session, earned_at: datetime) -> datetime | None:
    """Points earned in year Y (the shop's time zone) expire when Y+1 ends."""
    if program.current(session).expiry_policy == ExpiryPolicy.NEVER:
        return None
    zone = ZoneInfo(current_settings().timezone)
    year = earned_at.astimezone(zone).year
    return datetime(year + 2, 1, 1, tzinfo=zone).astimezone(UTC)


# Built once: the balance move runs on every earn, spend, thaw and refund, and building
# the statement each time cost more than executing it (docs/benchmarks.md).
_MOVE = (
    update(Membership)
    .where(
        Membership.customer_id == bindparam("member"),
        Membership.points_balance + bindparam("available") >= 0,
        Membership.points_frozen + bindparam("frozen") >= 0,
    )
    .values(
        points_balance=Membership.points_balance + bindparam("available"),
        points_frozen=Membership.points_frozen + bindparam("frozen"),
        updated_at=bindparam("now"),
    )
    .returning(Membership.points_balance)
)


def _move(session: Session, customer_id: int, *, available: int = 0, frozen: int = 0) -> int | None:
    """Change the balances by the deltas unless either would go below zero; returns
    the available balance after, or None (nothing changed) when it would."""
    after: int | None = (
        session.connection()
        .execute(
            _MOVE,
            {
                "member": customer_id,
                "available": available,
                "frozen": frozen,
                "now": clock.now(),
            },
        )
        .scalar_one_or_none()
    )
    # A Core UPDATE leaves a loaded membership object stale: forget its balances.
    cached = session.identity_map.get(session.identity_key(Membership, (customer_id,)))
    if cached is not None:
        session.expire(cached, ["points_balance", "points_frozen", "updated_at"])
    return after


_FIND = select(PointsEntry).where(
    PointsEntry.customer_id == bindparam("member"),
    PointsEntry.kind == bindparam("entry_kind"),
    PointsEntry.reference == bindparam("entry_reference"),
)
_EXISTS = select(PointsEntry.id).where(
    PointsEntry.customer_id == bindparam("member"),
    PointsEntry.kind == bindparam("entry_kind"),
    PointsEntry.reference == bindparam("entry_reference"),
)
# One insert-or-nothing per dialect, built on first use.
_INSERTS: dict[str, Any] = {}


def find(session: Session, customer_id: int, kind: str, reference: str) -> PointsEntry | None:
    return session.scalars(
        _FIND, {"member": customer_id, "entry_kind": kind, "entry_reference": reference}
    ).first()


def _insert_statement(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        _INSERTS[dialect] = (
            dialect_insert(session, PointsEntry)
            .on_conflict_do_nothing(index_elements=["customer_id", "kind", "reference"])
            .returning(PointsEntry)
        )
    return _INSERTS[dialect]


@dataclass(frozen=True)
class EntryInput:
    kind: str
    amount: int
    status: str
    reference: str
    reason: str
    actor: str
    order_id: int | None = None
    expires_at: datetime | None = None


def append_entry(session: Session, customer_id: int, entry: EntryInput) -> PointsEntry | None:
    """Move the balance and write the entry that explains it; None when an entry
    with this (kind, reference) exists. Raises PointsInsufficient, changing nothing,
    when an available balance would go below zero."""
    key = {"member": customer_id, "entry_kind": entry.kind, "entry_reference": entry.reference}
    if session.connection().execute(_EXISTS, key).first() is not None:
        return None
    frozen = entry.status == Status.FROZEN
    after = _move(
        session,
        customer_id,
        available=0 if frozen else entry.amount,
        frozen=entry.amount if frozen else 0,
    )
    if after is None:
        available, _ = balance(session, customer_id)
        raise PointsInsufficient(data={"balance": available, "requested": -entry.amount})
    created = session.scalars(
        _insert_statement(session),
        [
            {
                "customer_id": customer_id,
                "kind": entry.kind,
                "status": entry.status,
                "amount": entry.amount,
                "remaining": max(entry.amount, 0),
                "expires_at": entry.expires_at if entry.amount > 0 else None,
                "balance_after": after,
                "order_id": entry.order_id,
                "reference": entry.reference[:80],
                "reason": entry.reason[:200],
                "actor": entry.actor[:64],
                "created_at": clock.now(),
            }
        ],
    ).one_or_none()
    if created is None:
        # A racing delivery of the same reference won: undo our move.
        _move(
            session,
            customer_id,
            available=0 if frozen else -entry.amount,
            frozen=-entry.amount if frozen else 0,
        )
        return None
    return created


def _consume_lots(session: Session, customer_id: int, amount: int) -> None:
    """Take ``amount`` from the available lots, soonest to expire first (FIFO)."""
    left = amount
    lots = session.scalars(
        select(PointsEntry)
        .where(
            PointsEntry.customer_id == customer_id,
            PointsEntry.status == Status.AVAILABLE,
            PointsEntry.remaining > 0,
        )
        .order_by(PointsEntry.expires_at.asc().nulls_last(), PointsEntry.id)
        # Reload: a lot held in the session may predate a change made by a Core UPDATE.
        .execution_options(populate_existing=True)
    ).all()
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
    if left:
        raise AssertionError(f"lots of customer {customer_id} are {left} short of the balance")
    session.flush()


def earn(
    session: Session,
    customer_id: int,
    amount: int,
    *,
    reference: str,
    reason: str,
    actor: str = "system",
    order_id: int | None = None,
    frozen: bool = False,
    expires_at: datetime | None = None,
) -> PointsEntry | None:
    """Add a lot of ``amount`` points; None when ``reference`` was already earned."""
    if amount <= 0:
        raise PointsInvalidAmount(data={"amount": amount})
    memberships.ensure(session, customer_id)
    return append_entry(
        session,
        customer_id,
        EntryInput(
            kind=Kind.EARN,
            amount=amount,
            status=Status.FROZEN if frozen else Status.AVAILABLE,
            reference=reference,
            reason=reason,
            actor=actor,
            order_id=order_id,
            expires_at=expires_at or expires_at_for(session, clock.now()),
        ),
    )


def spend(
    session: Session,
    customer_id: int,
    amount: int,
    *,
    reference: str,
    reason: str,
    actor: str = "system",
    order_id: int | None = None,
) -> PointsEntry:
    """Spend ``amount`` available points; the same reference spent again returns the
    first entry. PointsInsufficient (409) with nothing changed when short."""
    if amount <= 0:
        raise PointsInvalidAmount(data={"amount": amount})
    existing = find(session, customer_id, Kind.SPEND, reference)
    if existing is not None:
        return existing
    memberships.ensure(session, customer_id)
    entry = append_entry(
        session,
        customer_id,
        EntryInput(Kind.SPEND, -amount, Status.AVAILABLE, reference, reason, actor, order_id),
    )
    if entry is None:
        found = find(session, customer_id, Kind.SPEND, reference)
        assert found is not None
        return found
    _consume_lots(session, customer_id, amount)
    return entry


def returned_for(session: Session, spend_entry: PointsEntry) -> int:
    """Points already given back from ``spend_entry`` (see ``refund_spend``)."""
    total = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
            PointsEntry.customer_id == spend_entry.customer_id,
            PointsEntry.kind == Kind.REVERSE,
            PointsEntry.reference.startswith(f"ret:{spend_entry.id}:"),
        )
    )
    return int(total or 0)


def refund_spend(
    session: Session,
    customer_id: int,
    *,
    spend_reference: str,
    amount: int,
    reference: str,
    reason: str,
    actor: str = "system",
) -> PointsEntry | None:
    """Give back (part of) a spend as a new lot (kind ``reverse``), never more than
    was spent in total; None when ``reference`` was already returned or nothing is
    left to return. The stored reference is ``ret:<spend id>:<reference>`` so the
    amount already returned for a spend is one indexed prefix sum."""
    spent = find(session, customer_id, Kind.SPEND, spend_reference)
    if spent is None:
        raise SpendNotFound(data={"reference": spend_reference})
    give = min(amount, -spent.amount - returned_for(session, spent))
    if give <= 0:
        return None
    return append_entry(
        session,
        customer_id,
        EntryInput(
            kind=Kind.REVERSE,
            amount=give,
            status=Status.AVAILABLE,
            reference=f"ret:{spent.id}:{reference}",
            reason=reason,
            actor=actor,
            order_id=spent.order_id,
            expires_at=expires_at_for(session, clock.now()),
        ),
    )


def adjust(
    session: Session, principal: Principal, customer_id: int, amount: int, *, reason: str
) -> PointsEntry:
    """An operator's correction (permission ``points.adjust``, checked by the route):
    reason required, never below zero, audited in the same transaction."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired()
    if amount == 0:
        raise PointsInvalidAmount(data={"amount": amount})
    memberships.ensure(session, customer_id)
    entry = append_entry(
        session,
        customer_id,
        EntryInput(
            kind=Kind.ADJUST,
            amount=amount,
            status=Status.AVAILABLE,
            reference=f"adjust:{uuid.uuid4().hex}",
            reason=reason,
            actor=principal.username,
            expires_at=expires_at_for(session, clock.now()),
        ),
    )
    assert entry is not None
    if amount < 0:
        _consume_lots(session, customer_id, -amount)
    audit.record(
        session,
        principal,
        "points.adjust",
        target_type="customer",
        target_id=customer_id,
        detail={"amount": amount, "reason": reason[:200], "entry_id": entry.id},
    )
    return entry


def thaw_order(session: Session, customer_id: int, order_id: int) -> int:
    """The order is final: its frozen entries become available. Returns points moved."""
    # One conditional UPDATE: only rows still frozen move, so a second delivery of the
    # event moves nothing twice.
    amounts = session.scalars(
        update(PointsEntry)
        .where(
            PointsEntry.customer_id == customer_id,
            PointsEntry.order_id == order_id,
            PointsEntry.status == Status.FROZEN,
        )
        .values(status=Status.AVAILABLE)
        .returning(PointsEntry.amount)
        .execution_options(synchronize_session=False)
    ).all()
    moved = sum(amounts)
    if amounts:
        for entry in session.identity_map.values():
            if isinstance(entry, PointsEntry) and entry.order_id == order_id:
                session.expire(entry, ["status"])
    if moved:
        after = _move(session, customer_id, available=moved, frozen=-moved)
        assert after is not None
    return moved


def claw_back(
    session: Session, earned: PointsEntry, amount: int, *, reference: str, reason: str
) -> int:
    """Reverse up to ``amount`` of the lot ``earned`` (a refund): frozen points go at
    once; available ones only as far as the lot and the balance still hold them.
    Returns the points reversed."""
    session.refresh(earned)
    take = min(amount, earned.remaining)
    if earned.status == Status.AVAILABLE:
        take = min(take, balance(session, earned.customer_id)[0])
    if take <= 0:
        return 0
    entry = append_entry(
        session,
        earned.customer_id,
        EntryInput(
            kind=Kind.REVERSE,
            amount=-take,
            status=earned.status,
            reference=reference,
            reason=reason,
            actor="system",
            order_id=earned.order_id,
        ),
    )
    if entry is None:
        return 0
    # Lower this lot, not the FIFO ones: the reversed points are the ones earned here.
    session.execute(
        update(PointsEntry)
        .where(PointsEntry.id == earned.id)
        .values(remaining=PointsEntry.remaining - take)
        .execution_options(synchronize_session=False)
    )
    session.refresh(earned)
    return take


def reversed_for(session: Session, earned: PointsEntry) -> int:
    """Points already reversed from the lot ``earned`` (an order's earn)."""
    total = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
            PointsEntry.customer_id == earned.customer_id,
            PointsEntry.kind == Kind.REVERSE,
            PointsEntry.order_id == earned.order_id,
            PointsEntry.amount < 0,
        )
    )
    return -int(total or 0)
