"""System status: job and outbox counts, and what has been dead-lettered (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import jobs, outbox
from siyu.core.http import SessionDep
from siyu.models.job import Job, JobStatus
from siyu.models.outbox import OutboxEvent, OutboxStatus
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

SystemPage = Annotated[ConsolePage, Depends(page_requiring(Permission.SYSTEM_MANAGE))]

# The newest dead items are the ones worth reading; the counts above give the total.
DEAD_LIST_LIMIT = 50


def dead_jobs(session: Session, *, limit: int = DEAD_LIST_LIMIT) -> list[Job]:
    # The jobs module has no listing yet; this read is the console's own, never a write.
    return list(
        session.scalars(
            select(Job).where(Job.status == JobStatus.DEAD).order_by(Job.id.desc()).limit(limit)
        )
    )


def dead_events(session: Session, *, limit: int = DEAD_LIST_LIMIT) -> list[OutboxEvent]:
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.status == OutboxStatus.DEAD)
            .order_by(OutboxEvent.id.desc())
            .limit(limit)
        )
    )


@router.get("/console/system")
def system_status(page: SystemPage, session: SessionDep) -> HTMLResponse:
    job_counts = jobs.job_stats(session)
    event_counts = outbox.outbox_stats(session)
    return page.render(
        "system.html",
        active="system",
        job_counts=[(status.value, job_counts.get(status.value, 0)) for status in JobStatus],
        event_counts=[(status.value, event_counts.get(status.value, 0)) for status in OutboxStatus],
        dead_jobs=dead_jobs(session),
        dead_events=dead_events(session),
        dead_limit=DEAD_LIST_LIMIT,
    )
