"""Read-side figures about tracked events for the console (no personal data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.tracking import TrackedEvent


def counts_by_type(session: Session, *, since: datetime) -> dict[str, int]:
    """Events received since ``since``, per type (uses the received_at index)."""
    rows = session.execute(
        select(TrackedEvent.type, func.count())
        .where(TrackedEvent.received_at >= since)
        .group_by(TrackedEvent.type)
    ).all()
    return {event_type: count for event_type, count in rows}


def recent_events(session: Session, *, limit: int = 50) -> list[TrackedEvent]:
    return list(
        session.scalars(
            select(TrackedEvent)
            .order_by(TrackedEvent.received_at.desc(), TrackedEvent.id.desc())
            .limit(limit)
        )
    )
