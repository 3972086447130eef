"""Hourly housekeeping: keep the outbox, job and session tables from growing for ever.

The maintenance job re-enqueues itself for the next hour under an idempotency key
naming that hour, so however many workers run, each hour has exactly one run; a
worker starting up calls :func:`schedule` to (re)start the chain if it was lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from siyu.core import clock, jobs, outbox
from siyu.core.db import rowcount
from siyu.models.job import Job, JobStatus
from siyu.models.staff import ConsoleSession, LoginThrottle

TASK = "system.maintenance"
# Done domain events and succeeded jobs are kept this long for inspection.
RETENTION = timedelta(days=30)
# A throttle row whose lock ended this long ago carries no information any more.
THROTTLE_RETENTION = timedelta(days=1)


def _next_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def schedule(session: Session, *, at: datetime | None = None) -> Job:
    run_at = at or _next_hour(clock.now())
    return jobs.enqueue(
        session, TASK, {}, run_at=run_at, idempotency_key=f"{TASK}:{run_at.isoformat()}"
    )


def purge(session: Session, *, now: datetime) -> dict[str, int]:
    cutoff = now - RETENTION
    events = outbox.purge_dispatched(session, before=cutoff)
    finished_jobs = session.execute(
        delete(Job)
        .where(Job.status == JobStatus.SUCCEEDED, Job.finished_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    sessions = session.execute(
        delete(ConsoleSession)
        .where(ConsoleSession.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    throttles = session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.window_started_at < now - THROTTLE_RETENTION)
        .where(
            (LoginThrottle.locked_until.is_(None))
            | (LoginThrottle.locked_until < now - THROTTLE_RETENTION)
        )
        .execution_options(synchronize_session=False)
    )
    return {
        "outbox_events": events,
        "jobs": rowcount(finished_jobs),
        "console_sessions": rowcount(sessions),
        "login_throttles": rowcount(throttles),
    }


@jobs.task(TASK, max_attempts=3)
def run_maintenance(session: Session, _payload: dict[str, Any]) -> None:
    now = clock.now()
    purge(session, now=now)
    schedule(session, at=_next_hour(now))
