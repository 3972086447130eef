"""Everything the members domain runs in the background, registered on import.

Daily jobs (``siyu.members.schedule`` keeps the chain going): ``members.tier_review``
(downgrades at the end of a review period), ``points.expire`` (expired lots leave
the balance), ``points.expiring`` (reminders N days ahead, emitted by the
``points.remind`` job). Event handlers: ``siyu.members.handlers``. Pricing steps and
the placement hook: ``siyu.members.pricing``. Merges: ``siyu.members.merge``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from siyu.core import clock, jobs
from siyu.members import expiry, handlers, merge, pricing, schedule, tier_changes

__all__ = ["expiry", "handlers", "merge", "pricing"]


def _continue_or_reschedule(session: Session, task: str, *, full_batch: bool) -> None:
    if full_batch:
        # More is due than one transaction should hold: continue at once.
        jobs.enqueue(session, task, {})
    schedule.enqueue_daily(session, task, at=schedule.next_run(clock.now()))


@jobs.task(schedule.TIER_REVIEW_TASK, max_attempts=3)
def run_tier_review(session: Session, _payload: dict[str, Any]) -> None:
    reviewed = tier_changes.review_due(session)
    _continue_or_reschedule(
        session, schedule.TIER_REVIEW_TASK, full_batch=reviewed >= tier_changes.REVIEW_BATCH
    )


@jobs.task(schedule.EXPIRE_TASK, max_attempts=3)
def run_expire(session: Session, _payload: dict[str, Any]) -> None:
    lots, _points = expiry.expire_due(session)
    _continue_or_reschedule(session, schedule.EXPIRE_TASK, full_batch=lots >= expiry.BATCH)


@jobs.task(schedule.EXPIRING_TASK, max_attempts=3)
def run_expiring(session: Session, _payload: dict[str, Any]) -> None:
    expiry.remind_expiring(session)
    _continue_or_reschedule(session, schedule.EXPIRING_TASK, full_batch=False)
