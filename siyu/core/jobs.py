"""Durable jobs: enqueued in the caller's transaction, run by :class:`JobRunner`.

A job names a registered task and carries a JSON payload of ids (never objects). A
runner claims due jobs with a lease (``locked_by``/``locked_until``), then runs each
in its own transaction whose commit also marks the job succeeded, conditional on
still holding the lease. A job whose worker died is taken over once its lease
expires; that counts as a failed attempt, so a job that kills its worker every time
ends dead instead of looping forever. Failures retry with exponential backoff and
end ``dead`` with the last error after ``max_attempts``.

PostgreSQL: claims use ``FOR UPDATE SKIP LOCKED``, so any number of ``siyu worker``
processes run jobs in parallel. SQLite has one writer anyway: only the holder of the
``worker_lease`` row named ``jobs`` claims jobs; other processes stand by.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import rowcount, transaction
from siyu.core.notify import request_wake
from siyu.core.outbox import (
    NAME_MAX_LENGTH,
    Backoff,
    describe_error,
    exponential_backoff,
    json_payload,
)
from siyu.models.job import Job, JobStatus, WorkerLease

logger = logging.getLogger(__name__)

JOBS_LEASE_NAME = "jobs"
DEFAULT_MAX_ATTEMPTS = 5

TaskFunction = Callable[[Session, dict[str, Any]], None]
TaskT = TypeVar("TaskT", bound=TaskFunction)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    function: TaskFunction
    max_attempts: int


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: dict[str, TaskSpec] = {}

    def register(
        self, name: str, function: TaskFunction, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> None:
        if not name or len(name) > NAME_MAX_LENGTH:
            raise ValueError(f"task name must be 1 to {NAME_MAX_LENGTH} characters: {name!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be positive")
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already registered")
        self._tasks[name] = TaskSpec(name, function, max_attempts)

    def task(
        self, name: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> Callable[[TaskT], TaskT]:
        def decorate(function: TaskT) -> TaskT:
            self.register(name, function, max_attempts=max_attempts)
            return function

        return decorate

    def get(self, name: str) -> TaskSpec | None:
        return self._tasks.get(name)

    def names(self) -> list[str]:
        return sorted(self._tasks)


_default_registry = TaskRegistry()


def default_registry() -> TaskRegistry:
    return _default_registry


def task(name: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Callable[[TaskT], TaskT]:
    """Register a task on the global registry: ``@task("coupon.expire", max_attempts=5)``."""
    return _default_registry.task(name, max_attempts=max_attempts)


def enqueue(
    session: Session,
    task: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    max_attempts: int | None = None,
    registry: TaskRegistry | None = None,
) -> Job:
    """Add a job in the caller's transaction (no commit).

    With an ``idempotency_key`` that already exists the existing job is returned as
    it is (whatever its task, payload or status) and nothing is inserted.
    """
    spec = (registry if registry is not None else _default_registry).get(task)
    if spec is None:
        raise ValueError(f"unknown task {task!r}")
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be positive")
    now = clock.now()
    values: dict[str, Any] = {
        "task": task,
        "payload": json_payload(task, payload),
        "status": JobStatus.QUEUED,
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": max_attempts if max_attempts is not None else spec.max_attempts,
        "idempotency_key": idempotency_key,
        "created_at": now,
    }
    request_wake(session)
    if idempotency_key is None:
        job = Job(**values)
        session.add(job)
        session.flush()
        return job
    # Insert-or-nothing in one statement: a select-then-insert would let two
    # concurrent callers both see no job and one of them fail on the unique key.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(Job).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return session.scalars(select(Job).where(Job.idempotency_key == idempotency_key)).one()


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    task: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


class JobRunner:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        registry: TaskRegistry | None = None,
        *,
        worker_id: str,
        lease_seconds: float = 300,
        sqlite_lease_seconds: float = 30,
        backoff: Backoff | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.registry = registry if registry is not None else _default_registry
        self.worker_id = worker_id
        self.lease = timedelta(seconds=lease_seconds)
        self.sqlite_lease = timedelta(seconds=sqlite_lease_seconds)
        self.backoff = backoff or exponential_backoff()

    def run_due(self, limit: int = 20) -> int:
        """Claim up to ``limit`` due jobs and run them; return how many were run."""
        jobs = self.claim(limit)
        for job in jobs:
            self.run(job)
        return len(jobs)

    def claim(self, limit: int) -> list[ClaimedJob]:
        with transaction(self.session_factory) as session:
            if session.get_bind().dialect.name == "sqlite" and not self._hold_lease(session):
                return []
            return self._claim(session, limit)

    def _hold_lease(self, session: Session) -> bool:
        """Take or renew the SQLite ``jobs`` lease if it is free, expired or ours."""
        now = clock.now()
        statement = sqlite.insert(WorkerLease).values(
            name=JOBS_LEASE_NAME, holder=self.worker_id, expires_at=now + self.sqlite_lease
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "holder": statement.excluded.holder,
                    "expires_at": statement.excluded.expires_at,
                },
                where=or_(WorkerLease.holder == self.worker_id, WorkerLease.expires_at < now),
            )
        )
        holder = session.scalar(
            select(WorkerLease.holder).where(WorkerLease.name == JOBS_LEASE_NAME)
        )
        return holder == self.worker_id

    def release_lease(self) -> None:
        """Give up the SQLite lease at shutdown so another process takes over at once."""
        with transaction(self.session_factory) as session:
            if session.get_bind().dialect.name != "sqlite":
                return
            session.execute(
                delete(WorkerLease).where(
                    WorkerLease.name == JOBS_LEASE_NAME, WorkerLease.holder == self.worker_id
                )
            )

    def _claim(self, session: Session, limit: int) -> list[ClaimedJob]:
        now = clock.now()
        columns = (
            Job.id,
            Job.task,
            Job.payload,
            Job.status,
            Job.attempts,
            Job.max_attempts,
            Job.locked_by,
        )
        # Two queries rather than one with OR: each then reads ix_job_due in order and
        # stops at the limit, instead of sorting every due job on each claim.
        rows = list(
            session.execute(
                select(*columns)
                .where(Job.status == JobStatus.RUNNING, Job.locked_until < now)
                .order_by(Job.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if len(rows) < limit:
            rows += session.execute(
                select(*columns)
                .where(Job.status == JobStatus.QUEUED, Job.run_at <= now)
                .order_by(Job.run_at, Job.id)
                .limit(limit - len(rows))
                .with_for_update(skip_locked=True)
            ).all()
        claimed: list[ClaimedJob] = []
        for row in rows:
            attempts = row.attempts
            if row.status == JobStatus.RUNNING:
                # The previous holder died or hung past its lease: a failed attempt.
                attempts += 1
                error = f"lease expired while held by {row.locked_by}"
                logger.warning("job %s: %s", row.id, error)
                if attempts >= row.max_attempts:
                    session.execute(
                        update(Job)
                        .where(Job.id == row.id)
                        .values(
                            status=JobStatus.DEAD,
                            attempts=attempts,
                            last_error=error,
                            locked_by=None,
                            locked_until=None,
                            finished_at=now,
                        )
                    )
                    continue
                session.execute(
                    update(Job).where(Job.id == row.id).values(attempts=attempts, last_error=error)
                )
            claimed.append(ClaimedJob(row.id, row.task, row.payload, attempts, row.max_attempts))
        if claimed:
            session.execute(
                update(Job)
                .where(Job.id.in_([job.id for job in claimed]))
                .values(
                    status=JobStatus.RUNNING,
                    locked_by=self.worker_id,
                    locked_until=now + self.lease,
                    started_at=now,
                )
            )
        return claimed

    def run(self, job: ClaimedJob) -> bool:
        """Run one claimed job; True when it succeeded and its writes committed."""
        session = self.session_factory()
        try:
            spec = self.registry.get(job.task)
            if spec is None:
                raise LookupError(f"no task registered as {job.task!r}")
            spec.function(session, dict(job.payload))
            result = session.execute(
                update(Job)
                # Only the lease holder may finish the job: if the lease expired and
                # another worker took the job over, these writes must not commit.
                .where(
                    Job.id == job.id,
                    Job.locked_by == self.worker_id,
                    Job.status == JobStatus.RUNNING,
                )
                .values(
                    status=JobStatus.SUCCEEDED,
                    finished_at=clock.now(),
                    locked_by=None,
                    locked_until=None,
                )
            )
            if rowcount(result) != 1:
                session.rollback()
                logger.warning("job %s was taken over by another worker; rolled back", job.id)
                return False
            session.commit()
            return True
        except Exception as error:
            session.rollback()
            logger.warning("job %s (%s) failed", job.id, job.task, exc_info=True)
            self._record_failure(job, describe_error(error, prefix=job.task))
            return False
        finally:
            session.close()

    def _record_failure(self, job: ClaimedJob, message: str) -> None:
        attempts = job.attempts + 1
        is_dead = attempts >= job.max_attempts
        now = clock.now()
        with transaction(self.session_factory) as session:
            session.execute(
                update(Job)
                .where(
                    Job.id == job.id,
                    Job.locked_by == self.worker_id,
                    Job.status == JobStatus.RUNNING,
                )
                .values(
                    attempts=attempts,
                    last_error=message,
                    status=JobStatus.DEAD if is_dead else JobStatus.QUEUED,
                    run_at=now if is_dead else now + self.backoff(attempts),
                    finished_at=now if is_dead else None,
                    locked_by=None,
                    locked_until=None,
                )
            )
        if is_dead:
            logger.error("job %s (%s) dead after %d attempts", job.id, job.task, attempts)


def retry_dead(session: Session, job_id: int) -> bool:
    """Queue a dead job again with fresh attempts; False if it is not dead."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.DEAD)
        .values(status=JobStatus.QUEUED, attempts=0, run_at=clock.now(), finished_at=None)
    )
    if rowcount(result) != 1:
        return False
    request_wake(session)
    return True


def dead_jobs(session: Session, *, limit: int = 50) -> list[Job]:
    """The newest dead-lettered jobs, for an operator to read and retry."""
    return list(
        session.scalars(
            select(Job).where(Job.status == JobStatus.DEAD).order_by(Job.id.desc()).limit(limit)
        )
    )


def job_stats(session: Session) -> dict[str, int]:
    """Job counts by status, every status present."""
    counts = {status.value: 0 for status in JobStatus}
    for status, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
        counts[status] = count
    return counts


def jobs_finished_per_hour(
    session: Session, hours: int = 24, *, status: JobStatus = JobStatus.SUCCEEDED
) -> list[tuple[datetime, int]]:
    """Jobs finished in each of the last ``hours`` UTC hours, oldest first, zeros included.

    The current (partial) hour is the last bucket.
    """
    now = clock.now().astimezone(UTC)
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    start = current_hour - timedelta(hours=hours - 1)
    # Hours since the epoch, computed in the database so only one row per hour comes back.
    hour_index: ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        hour_index = func.floor(func.extract("epoch", Job.finished_at) / 3600)
    else:
        hour_index = cast(func.strftime("%s", Job.finished_at), Integer) // 3600
    rows = session.execute(
        select(hour_index, func.count())
        .where(Job.status == status, Job.finished_at >= start)
        .group_by(hour_index)
    )
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    counts = {epoch + timedelta(hours=int(index)): count for index, count in rows}
    buckets = [start + timedelta(hours=offset) for offset in range(hours)]
    return [(bucket, counts.get(bucket, 0)) for bucket in buckets]
