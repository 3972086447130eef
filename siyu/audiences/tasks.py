"""Audience jobs and hooks: scheduled segment refreshes, the incremental refresh after
each warehouse sync, and the merge re-pointers of segments and tag history.

``audiences.refresh`` refreshes the segments whose ``next_refresh_at`` has come, then
re-enqueues itself for the next due time under an idempotency key naming that
minute (like ``system.maintenance`` hourly), so however many workers run each due
time has one run. Saving a segment (re)starts the chain (``schedule``), and so does
a worker starting up (``ensure_scheduled``); with nothing due the chain rests.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from siyu.core import clock, jobs
from siyu.core import settings as settings_module
from siyu.core.db import rowcount
from siyu.customers.merge import register_repointer
from siyu.models.audience import CustomerTagHistory, Segment, SegmentChange, SegmentMember
from siyu.models.job import Job
from siyu.warehouse import hooks

if TYPE_CHECKING:
    from siyu.warehouse.engine import Warehouse
    from siyu.warehouse.export import SyncResult

logger = logging.getLogger(__name__)

TASK = "audiences.refresh"
# Never chase due times closer together than this: a burst of saves still makes one run.
MIN_GAP = timedelta(minutes=1)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + (
        timedelta(minutes=1) if moment.second or moment.microsecond else timedelta(0)
    )


def schedule(session: Session, *, at: datetime | None = None) -> Job:
    """Enqueue the refresh job for ``at`` (rounded up to the minute; default now)."""
    run_at = _minute(at or clock.now())
    return jobs.enqueue(
        session, TASK, {}, run_at=run_at, idempotency_key=f"{TASK}:{run_at.isoformat()}"
    )


def ensure_scheduled(session: Session) -> Job | None:
    """(Re)start the chain at the earliest due segment, if any."""
    from siyu.audiences.segments import service as segments

    due = segments.next_due(session)
    return None if due is None else schedule(session, at=max(due, clock.now()))


@jobs.task(TASK, max_attempts=3)
def run_refresh(session: Session, _payload: dict[str, Any]) -> None:
    from siyu.audiences import refresh
    from siyu.audiences.segments import service as segments
    from siyu.warehouse.engine import Warehouse

    now = clock.now()
    results = refresh.refresh_due(
        session, Warehouse.from_settings(settings_module.current()), now=now
    )
    failed = [result.segment_id for result in results if not result.ok]
    if failed:
        logger.warning("audiences.refresh: segments %s failed (see last_error)", failed)
    due = segments.next_due(session)
    if due is not None:
        schedule(session, at=max(due, now + MIN_GAP))


def after_sync(session: Session, wh: Warehouse, result: SyncResult) -> None:
    """Incremental refresh of the customers the last export touched."""
    from siyu.audiences import refresh

    touched = result.touched_customer_ids
    if touched is None or len(touched) == 0:
        return
    summary = refresh.refresh_all(session, wh, now=clock.now(), customer_ids=touched)
    logger.info(
        "audiences: incremental refresh of %s customers in %.2fs",
        summary.customers,
        summary.seconds,
    )


hooks.register_after_sync(after_sync)


def _repoint_segment_members(session: Session, survivor_id: int, merged_id: int) -> int:
    """One membership per (segment, customer): the survivor keeps its own, the merged
    customer's other memberships move to it; sizes are recounted where rows went."""
    survivor_segments = select(SegmentMember.segment_id).where(
        SegmentMember.customer_id == survivor_id
    )
    affected = list(
        session.scalars(
            select(SegmentMember.segment_id).where(
                SegmentMember.customer_id == merged_id,
                SegmentMember.segment_id.in_(survivor_segments),
            )
        )
    )
    session.execute(
        delete(SegmentMember).where(
            SegmentMember.customer_id == merged_id, SegmentMember.segment_id.in_(affected)
        ),
        execution_options={"synchronize_session": False},
    )
    moved = rowcount(
        session.execute(
            update(SegmentMember)
            .where(SegmentMember.customer_id == merged_id)
            .values(customer_id=survivor_id),
            execution_options={"synchronize_session": False},
        )
    )
    for segment_id in affected:
        session.execute(
            update(Segment)
            .where(Segment.id == segment_id)
            .values(
                member_count=select(func.count())
                .select_from(SegmentMember)
                .where(SegmentMember.segment_id == segment_id)
                .scalar_subquery()
            ),
            execution_options={"synchronize_session": False},
        )
    return moved


def _simple(model: Any) -> Any:
    def repoint(session: Session, survivor_id: int, merged_id: int) -> int:
        return rowcount(
            session.execute(
                update(model).where(model.customer_id == merged_id).values(customer_id=survivor_id),
                execution_options={"synchronize_session": False},
            )
        )

    return repoint


register_repointer("segment_member", _repoint_segment_members)
register_repointer("segment_change", _simple(SegmentChange))
register_repointer("customer_tag_history", _simple(CustomerTagHistory))
