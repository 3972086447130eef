"""The benefits job: ``members.daily_benefits``, run every hour.

Members live in different time zones, so "today" starts at a different UTC hour for
each of them: the job runs hourly and grants to those whose local date is their
birthday, anniversary or the member day (``siyu.members.benefits``). One run is a
chain of jobs, one batch of members each (its own transaction, so 100k members never
sit in one transaction); the chain's first job schedules the next hour's run under an
idempotency key naming that hour, so however many workers run, each hour has one run.
Re-runs and races never double-grant: the grant row's unique key decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core import clock, jobs
from siyu.members import benefits
from siyu.members import points_mall_events as _points_mall_events  # noqa: F401  (handlers)
from siyu.members import points_mall_merge as _points_mall_merge  # noqa: F401  (re-pointers)
from siyu.models.job import Job

TASK = "members.daily_benefits"


def schedule(session: Session, *, at: datetime | None = None) -> Job:
    """(Re)start the hourly chain; safe to call on every start-up."""
    run_at = at or benefits.next_tick(clock.now())
    return jobs.enqueue(
        session, TASK, {}, run_at=run_at, idempotency_key=f"{TASK}:{run_at.isoformat()}"
    )


def run_now(session: Session) -> Job:
    """An operator's "run now": a chain starting at once (grants already made are kept)."""
    now = clock.now()
    return jobs.enqueue(
        session, TASK, {"at": now.isoformat(), "reschedule": False}, idempotency_key=None
    )


@jobs.task(TASK, max_attempts=5)
def run_benefits(session: Session, payload: dict[str, Any]) -> None:
    at = datetime.fromisoformat(payload["at"]) if "at" in payload else clock.now()
    after = int(payload.get("after", 0))
    if after == 0 and payload.get("reschedule", True):
        schedule(session, at=benefits.next_tick(at))
    # The module attribute, read at run time, so a test can use small batches.
    result = benefits.run_batch(session, at=at, after=after, batch_size=benefits.DEFAULT_BATCH_SIZE)
    if not result.done:
        # The next batch is its own job (and transaction); the key makes a retried
        # batch enqueue its successor once.
        jobs.enqueue(
            session,
            TASK,
            {"at": at.isoformat(), "after": result.last_customer_id, "reschedule": False},
            idempotency_key=f"{TASK}:{at.isoformat()}:{result.last_customer_id}",
        )
