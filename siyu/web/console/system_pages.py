"""System status: job and outbox counts, and what has been dead-lettered (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from siyu.core import jobs, outbox
from siyu.core.http import SessionDep
from siyu.models.job import JobStatus
from siyu.models.outbox import OutboxStatus
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

SystemPage = Annotated[ConsolePage, Depends(page_requiring(Permission.SYSTEM_MANAGE))]

# The newest dead items are the ones worth reading; the counts above give the total.
DEAD_LIST_LIMIT = 50


@router.get("/console/system")
def system_status(page: SystemPage, session: SessionDep) -> HTMLResponse:
    job_counts = jobs.job_stats(session)
    event_counts = outbox.outbox_stats(session)
    return page.render(
        "system.html",
        active="system",
        job_counts=[(status.value, job_counts.get(status.value, 0)) for status in JobStatus],
        event_counts=[(status.value, event_counts.get(status.value, 0)) for status in OutboxStatus],
        dead_jobs=jobs.dead_jobs(session, limit=DEAD_LIST_LIMIT),
        dead_events=outbox.dead_events(session, limit=DEAD_LIST_LIMIT),
        dead_limit=DEAD_LIST_LIMIT,
    )
