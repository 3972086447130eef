"""The scheduled ``warehouse.sync`` job: export, then the after-sync hooks.

Like ``siyu.core.maintenance``, the job re-enqueues itself for the next slot
(every ``warehouse_sync_seconds``) under an idempotency key naming that slot, so
however many workers run, each slot has one run; a worker starting up calls
:func:`schedule` to (re)start the chain if it was lost. The export itself takes the
warehouse's file lock, so a manual ``siyu warehouse sync`` and the job never overlap.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.core import clock, jobs
from siyu.core import settings as settings_module
from siyu.models.job import Job
from siyu.warehouse import export, hooks
from siyu.warehouse.engine import Warehouse

TASK = "warehouse.sync"
logger = logging.getLogger("siyu.warehouse")


def next_slot(moment: datetime, seconds: int) -> datetime:
    """The next multiple of ``seconds`` since the epoch after ``moment``."""
    epoch = int(moment.astimezone(UTC).timestamp())
    return datetime.fromtimestamp((epoch // seconds + 1) * seconds, UTC)


def schedule(session: Session, *, at: datetime | None = None) -> Job:
    seconds = settings_module.current().warehouse_sync_seconds
    run_at = at or next_slot(clock.now(), seconds)
    return jobs.enqueue(
        session, TASK, {}, run_at=run_at, idempotency_key=f"{TASK}:{run_at.isoformat()}"
    )


def run(session: Session) -> export.SyncResult:
    """Export (on its own read connection: it writes nothing to the OLTP database),
    then every after-sync hook in ``session``, each in a savepoint: a failing hook is
    logged and leaves the others and the chain intact."""
    settings = settings_module.current()
    warehouse = Warehouse.from_settings(settings)
    bind = session.get_bind()
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    result = export.sync(engine, warehouse, now=clock.now(), wait=False)
    if result.skipped:
        logger.info("warehouse sync skipped: another sync holds the lock")
        return result
    hooks.run_after_sync(session, warehouse, result)
    return result


@jobs.task(TASK, max_attempts=1)
def run_sync(session: Session, _payload: dict[str, Any]) -> None:
    now = clock.now()
    try:
        # Before any write in ``session``: on SQLite the first write takes the writer
        # lock, which must not be held for the length of an export.
        run(session)
    except Exception:
        logger.exception("warehouse sync failed; the next slot retries")
    # Always enqueue the next slot: one failed export must not end the chain.
    schedule(session, at=next_slot(now, settings_module.current().warehouse_sync_seconds))
