"""The daily member jobs and how their chain starts.

Each daily job re-enqueues itself for the next day under an idempotency key naming
that day (like ``system.maintenance`` does hourly), so however many workers run,
each day has exactly one run. The chain starts when the first membership is created
or the program is saved, the two moments from which the jobs have work to do; both
calls are idempotent, so starting it again is harmless.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from siyu.core import clock, jobs
from siyu.core.db import cached_for_transaction, store_cached

TIER_REVIEW_TASK = "members.tier_review"
EXPIRE_TASK = "points.expire"
EXPIRING_TASK = "points.expiring"
DAILY_TASKS = (TIER_REVIEW_TASK, EXPIRE_TASK, EXPIRING_TASK)
# A little after midnight UTC (08:00 in Shanghai): the expiry job then runs after the
# year's last local day has ended everywhere in China.
RUN_AT = timedelta(minutes=5)


def next_run(moment: datetime) -> datetime:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    candidate = midnight + RUN_AT
    return candidate if candidate > moment else candidate + timedelta(days=1)


def enqueue_daily(session: Session, task: str, *, at: datetime) -> None:
    jobs.enqueue(session, task, {}, run_at=at, idempotency_key=f"{task}:{at.date().isoformat()}")


_SCHEDULED_KEY = "members.daily_scheduled_for"


def ensure_daily(session: Session) -> None:
    # The tasks register on import; a script or test that never loaded the worker's
    # handlers can still start the chain.
    importlib.import_module("siyu.members.tasks")
    at = next_run(clock.now())

    # Once per transaction and day: a batch creating thousands of memberships (the
    # outbox dispatcher, the demo) would otherwise re-insert the same three jobs each
    # time. Keyed by the transaction object, so a rolled-back batch schedules again.
    def enqueue_all() -> datetime:
        for task in DAILY_TASKS:
            enqueue_daily(session, task, at=at)
        return at

    if cached_for_transaction(session, _SCHEDULED_KEY, enqueue_all) != at:
        # Past midnight within one transaction: the next day's runs are due too.
        store_cached(session, _SCHEDULED_KEY, enqueue_all())
