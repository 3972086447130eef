"""Points expiry (job ``points.expire``) and the reminder before it (``points.expiring``).

A lot expires when its ``expires_at`` has passed: what is left of it (``remaining``)
leaves the balance as one ``expire`` entry (reference ``expire:<lot id>``, so a
repeated run writes nothing twice). Frozen lots wait: they can only expire once the
order is final and they are available.

The reminder groups a customer's lots by expiry moment ("500 points expire on
31 Dec") and emits ``points.expiring`` once per group: the emission is a job whose
idempotency key names the customer and the moment, so daily runs inside the
reminder window find it already there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock, jobs, outbox
from siyu.members import program
from siyu.members.points import EntryInput, Kind, Status, append_entry
from siyu.models.member import Membership, PointsEntry

EXPIRING_EVENT = "points.expiring"
REMIND_TASK = "points.remind"
BATCH = 1000


def expire_due(
    session: Session, *, now: datetime | None = None, limit: int = BATCH
) -> tuple[int, int]:
    """Expire up to ``limit`` lots past their date; returns (lots looked at, points
    expired)."""
    now = now or clock.now()
    due = session.execute(
        select(PointsEntry.id, PointsEntry.customer_id)
        .where(
            PointsEntry.status == Status.AVAILABLE,
            PointsEntry.remaining > 0,
            PointsEntry.expires_at.is_not(None),
            PointsEntry.expires_at <= now,
        )
        .order_by(PointsEntry.customer_id, PointsEntry.id)
        .limit(limit)
    ).all()
    expired = 0
    for lot_id, customer_id in due:
        # Lock the membership first, as every balance change does, then re-read the
        # lot: a spend committed meanwhile may have taken from it.
        session.execute(
            select(Membership.customer_id)
            .where(Membership.customer_id == customer_id)
            .with_for_update()
        )
        lot = session.get(PointsEntry, lot_id, populate_existing=True)
        if lot is None or lot.remaining <= 0:
            continue
        amount = lot.remaining
        entry = append_entry(
            session,
            customer_id,
            EntryInput(
                kind=Kind.EXPIRE,
                amount=-amount,
                status=Status.AVAILABLE,
                reference=f"expire:{lot.id}",
                reason="expired",
                actor="system",
            ),
        )
        if entry is None:
            continue
        lot.remaining = 0
        session.flush()
        expired += amount
    return len(due), expired


def remind_expiring(session: Session, *, now: datetime | None = None) -> int:
    """Enqueue one reminder per (customer, expiry moment) inside the reminder window;
    returns how many groups were found (already-reminded ones included)."""
    now = now or clock.now()
    window_end = now + timedelta(days=program.current(session).reminder_days)
    groups = session.execute(
        select(PointsEntry.customer_id, PointsEntry.expires_at, func.sum(PointsEntry.remaining))
        .where(
            PointsEntry.status == Status.AVAILABLE,
            PointsEntry.remaining > 0,
            PointsEntry.expires_at > now,
            PointsEntry.expires_at <= window_end,
        )
        .group_by(PointsEntry.customer_id, PointsEntry.expires_at)
    ).all()
    for customer_id, expires_at, points in groups:
        if expires_at is None:
            continue
        jobs.enqueue(
            session,
            REMIND_TASK,
            {
                "customer_id": customer_id,
                "expires_at": expires_at.isoformat(),
                "points": int(points),
            },
            idempotency_key=f"{EXPIRING_EVENT}:{customer_id}:{expires_at.isoformat()}",
        )
    return len(groups)


@jobs.task(REMIND_TASK, max_attempts=3)
def send_reminder(session: Session, payload: dict[str, Any]) -> None:
    """Emit ``points.expiring`` with what is still left to expire at that moment."""
    expires_at = datetime.fromisoformat(payload["expires_at"])
    left = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
            PointsEntry.customer_id == payload["customer_id"],
            PointsEntry.status == Status.AVAILABLE,
            PointsEntry.expires_at == expires_at,
        )
    )
    if not left:
        return
    outbox.emit(
        session,
        EXPIRING_EVENT,
        {
            "customer_id": payload["customer_id"],
            "points": int(left),
            "expires_at": payload["expires_at"],
        },
    )
