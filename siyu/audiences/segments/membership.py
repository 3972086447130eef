"""Applying a new membership to a segment: diff, write, record and announce changes.

The stored members are read once into a sorted numpy array (only the ``restrict_to``
customers on an incremental refresh), diffed against the new ids, and only the
differences are written: chunked executemany INSERTs into ``segment_member`` and
``segment_change``, IN-list DELETEs, and one ``segment.entered`` /
``segment.exited`` domain event per change through ``outbox.emit_many`` (a
million-member first refresh is a million events; per-row ``outbox.emit`` would take
minutes, the bulk insert seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from siyu.audiences.tags import bulk
from siyu.audiences.tags.bulk import IdArray
from siyu.core import bulk_insert, outbox
from siyu.models.audience import SegmentChange, SegmentMember

ENTERED_EVENT = "segment.entered"
EXITED_EVENT = "segment.exited"
_MEMBER = cast(Table, SegmentMember.__table__)
_CHANGE = cast(Table, SegmentChange.__table__)


@dataclass(frozen=True)
class MembershipChange:
    entered: int
    exited: int
    member_count: int


def stored_members(session: Session, segment_id: int, restrict: IdArray | None = None) -> IdArray:
    return bulk.stored_ids(
        session, SegmentMember.customer_id, SegmentMember.segment_id == segment_id, restrict
    )


def emit_changes(session: Session, segment_id: int, name: str, customer_ids: IdArray) -> None:
    """One domain event per customer, written in bulk."""
    outbox.emit_many(
        session,
        name,
        (
            {"segment_id": segment_id, "customer_id": int(customer_id)}
            for customer_id in customer_ids
        ),
    )


def _record(session: Session, segment_id: int, ids: IdArray, change: str, now: datetime) -> None:
    bulk_insert.insert_many(
        session,
        _CHANGE,
        ("customer_id",),
        ((int(c),) for c in ids),
        constants={"segment_id": segment_id, "change": change, "at": now},
    )


def apply_membership(
    session: Session,
    segment_id: int,
    customer_ids: IdArray,
    *,
    now: datetime,
    restrict_to: IdArray | None = None,
) -> MembershipChange:
    """Make the segment's members exactly ``customer_ids`` (within ``restrict_to`` when
    given: members outside it stay); return what changed and the new size."""
    target = bulk.within(customer_ids, restrict_to)
    current = stored_members(session, segment_id, restrict_to)
    entering, exiting = bulk.diff(target, current)
    entering = bulk.active_only(session, entering)
    for chunk in bulk.chunks(exiting):
        session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment_id, SegmentMember.customer_id.in_(chunk)
            ),
            execution_options={"synchronize_session": False},
        )
    bulk_insert.insert_many(
        session,
        _MEMBER,
        ("customer_id",),
        ((int(c),) for c in entering),
        constants={"segment_id": segment_id, "entered_at": now},
    )
    _record(session, segment_id, entering, "entered", now)
    _record(session, segment_id, exiting, "exited", now)
    emit_changes(session, segment_id, ENTERED_EVENT, entering)
    emit_changes(session, segment_id, EXITED_EVENT, exiting)
    count = session.scalar(
        select(func.count())
        .select_from(SegmentMember)
        .where(SegmentMember.segment_id == segment_id)
    )
    return MembershipChange(
        entered=len(entering), exited=len(exiting), member_count=int(count or 0)
    )
