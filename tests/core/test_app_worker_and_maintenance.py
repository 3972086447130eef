"""The worker inside `siyu serve` delivers events; hourly maintenance purges and re-arms."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.app import create_app
from siyu.core import jobs, maintenance, outbox
from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models import ConsoleSession, Job, JobStatus, OutboxEvent, OutboxStatus
from tests.factories import make_staff


def test_in_process_worker_delivers_events_after_commit(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/w.db", data_dir=tmp_path)
    upgrade(settings.database_url)
    event_name = f"test.{uuid.uuid4().hex[:8]}"
    delivered = threading.Event()
    received: list[dict[str, object]] = []

    def on_event(_session: Session, event: outbox.DomainEvent) -> None:
        received.append(event.payload)
        delivered.set()

    outbox.register_handler(event_name, "test.recorder", on_event)
    with TestClient(create_app(settings, start_worker=True)) as client:
        factory = client.app.state.session_factory  # type: ignore[attr-defined]
        with transaction(factory) as session:
            outbox.emit(session, event_name, {"order_id": 42})
        assert delivered.wait(timeout=10)
        with factory() as session:
            maintenance_jobs = session.scalars(
                select(Job).where(Job.task == maintenance.TASK)
            ).all()
    assert received == [{"order_id": 42}]
    assert len(maintenance_jobs) == 1


def test_schedule_is_idempotent_per_hour(session: Session, frozen_clock: FrozenClock) -> None:
    first = maintenance.schedule(session)
    second = maintenance.schedule(session)
    assert first.id == second.id
    assert first.run_at == frozen_clock.now().replace(minute=0) + timedelta(hours=1)
    count = session.scalar(
        select(func.count()).select_from(Job).where(Job.task == "system.maintenance")
    )
    assert count == 1


def test_purge_keeps_recent_and_unfinished_rows(
    session: Session, frozen_clock: FrozenClock
) -> None:
    old_done = outbox.emit(session, "test.old", {})
    outbox.emit(session, "test.dead", {})
    session.flush()
    session.execute(
        OutboxEvent.__table__.update()
        .where(OutboxEvent.name == "test.dead")
        .values(status=OutboxStatus.DEAD)
    )
    session.execute(
        OutboxEvent.__table__.update()
        .where(OutboxEvent.event_id == old_done)
        .values(status=OutboxStatus.DONE, dispatched_at=frozen_clock.now())
    )
    old_job = jobs.enqueue(session, maintenance.TASK, {})
    old_job.status = JobStatus.SUCCEEDED
    old_job.finished_at = frozen_clock.now()
    staff = make_staff(session)
    session.add(
        ConsoleSession(
            staff_id=staff.id,
            token_hash="x" * 64,
            csrf_token="c",
            generation=0,
            created_at=frozen_clock.now(),
            expires_at=frozen_clock.now() + timedelta(hours=1),
        )
    )
    session.flush()

    frozen_clock.advance(days=29)
    early = maintenance.purge(session, now=frozen_clock.now())
    # Only the console session, expired after an hour, is gone by day 29.
    assert early == {"outbox_events": 0, "jobs": 0, "console_sessions": 1, "login_throttles": 0}

    frozen_clock.advance(days=2)
    removed = maintenance.purge(session, now=frozen_clock.now())
    assert removed == {"outbox_events": 1, "jobs": 1, "console_sessions": 0, "login_throttles": 0}
    remaining = session.scalars(select(OutboxEvent.name)).all()
    assert remaining == ["test.dead"]


def test_maintenance_job_runs_and_rearms(
    session_factory: object, frozen_clock: FrozenClock
) -> None:
    from sqlalchemy.orm import sessionmaker

    assert isinstance(session_factory, sessionmaker)
    with transaction(session_factory) as session:
        maintenance.schedule(session)
    frozen_clock.advance(hours=1)
    runner = jobs.JobRunner(session_factory, worker_id="test")
    assert runner.run_due() == 1
    runner.release_lease()
    with session_factory() as session:
        statuses = session.execute(
            select(Job.status, Job.run_at).where(Job.task == maintenance.TASK).order_by(Job.id)
        ).all()
    assert [status for status, _ in statuses] == ["succeeded", "queued"]
    assert statuses[1][1] - statuses[0][1] == timedelta(hours=1)
