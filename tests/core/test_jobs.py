from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.jobs import (
    JobRunner,
    TaskRegistry,
    enqueue,
    job_stats,
    jobs_finished_per_hour,
    retry_dead,
)
from siyu.core.notify import WAKE_KEY
from siyu.core.outbox import emit, exponential_backoff
from siyu.models import Job, JobStatus, OutboxEvent, WorkerLease

CHILD = Path(__file__).with_name("worker_child.py")
NO_JITTER = exponential_backoff(jitter=0)


class Calls:
    """A task that emits an event (a write that must commit with the job) and may fail."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.failure = failure

    def __call__(self, session: Session, payload: dict[str, Any]) -> None:
        self.payloads.append(payload)
        emit(session, "job.ran", {**payload, "call": len(self.payloads)})
        if self.failure is not None:
            raise self.failure


def make_registry(calls: Calls, *, max_attempts: int = 5) -> TaskRegistry:
    registry = TaskRegistry()
    registry.register("coupon.expire", calls, max_attempts=max_attempts)
    return registry


def load_job(factory: sessionmaker[Session], job_id: int) -> Job:
    with factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def emitted_payloads(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with factory() as session:
        return list(session.scalars(select(OutboxEvent.payload).order_by(OutboxEvent.id)))


def enqueue_committed(
    factory: sessionmaker[Session], registry: TaskRegistry, payload: dict[str, Any], **kwargs: Any
) -> int:
    with transaction(factory) as session:
        return enqueue(session, "coupon.expire", payload, registry=registry, **kwargs).id


def test_enqueue_adds_a_queued_job_to_the_callers_session(
    session: Session, frozen_clock: FrozenClock
) -> None:
    registry = make_registry(Calls(), max_attempts=4)

    job = enqueue(session, "coupon.expire", {"coupon_id": 9}, registry=registry)

    assert session.info[WAKE_KEY] is True
    stored = session.scalars(select(Job)).one()
    assert stored is job
    assert (job.task, job.payload, job.status, job.attempts, job.max_attempts) == (
        "coupon.expire",
        {"coupon_id": 9},
        JobStatus.QUEUED,
        0,
        4,
    )
    assert (job.run_at, job.created_at) == (frozen_clock.now(), frozen_clock.now())
    assert (job.idempotency_key, job.locked_by, job.finished_at) == (None, None, None)
    later = frozen_clock.now() + timedelta(days=1)
    other = enqueue(
        session, "coupon.expire", {"coupon_id": 9}, registry=registry, run_at=later, max_attempts=2
    )
    assert (other.run_at, other.max_attempts) == (later, 2)


def test_enqueue_refuses_unknown_tasks_and_non_json_payloads(session: Session) -> None:
    registry = make_registry(Calls())
    with pytest.raises(ValueError, match="unknown task 'coupon.unknown'"):
        enqueue(session, "coupon.unknown", {}, registry=registry)
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        enqueue(session, "coupon.expire", {"at": object()}, registry=registry)
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_enqueue_with_an_existing_idempotency_key_returns_the_existing_job(
    session: Session,
) -> None:
    registry = make_registry(Calls())
    first = enqueue(
        session, "coupon.expire", {"coupon_id": 1}, registry=registry, idempotency_key="expire:1"
    )
    again = enqueue(
        session, "coupon.expire", {"coupon_id": 2}, registry=registry, idempotency_key="expire:1"
    )
    other = enqueue(
        session, "coupon.expire", {"coupon_id": 2}, registry=registry, idempotency_key="expire:2"
    )

    assert again.id == first.id
    assert again.payload == {"coupon_id": 1}
    assert other.id != first.id
    assert session.scalar(select(func.count()).select_from(Job)) == 2


def test_a_due_job_runs_and_its_writes_commit_with_success(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    calls = Calls()
    registry = make_registry(calls)
    due = enqueue_committed(session_factory, registry, {"coupon_id": 1})
    later = enqueue_committed(
        session_factory,
        registry,
        {"coupon_id": 2},
        run_at=frozen_clock.now() + timedelta(minutes=5),
    )
    runner = JobRunner(session_factory, registry, worker_id="worker-a")

    assert runner.run_due(10) == 1

    assert calls.payloads == [{"coupon_id": 1}]
    job = load_job(session_factory, due)
    assert (job.status, job.attempts, job.locked_by, job.locked_until) == (
        JobStatus.SUCCEEDED,
        0,
        None,
        None,
    )
    assert (job.started_at, job.finished_at) == (frozen_clock.now(), frozen_clock.now())
    assert emitted_payloads(session_factory) == [{"coupon_id": 1, "call": 1}]
    assert load_job(session_factory, later).status == JobStatus.QUEUED
    assert runner.run_due(10) == 0

    frozen_clock.advance(minutes=5)
    assert runner.run_due(10) == 1
    assert load_job(session_factory, later).status == JobStatus.SUCCEEDED


def test_a_failing_job_retries_with_backoff_then_goes_dead(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    calls = Calls(RuntimeError("coupon service down"))
    registry = make_registry(calls, max_attempts=3)
    job_id = enqueue_committed(session_factory, registry, {"coupon_id": 1})
    runner = JobRunner(session_factory, registry, worker_id="worker-a", backoff=NO_JITTER)

    assert runner.run_due(10) == 1
    job = load_job(session_factory, job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.QUEUED, 1, None)
    assert job.run_at == frozen_clock.now() + timedelta(seconds=2)
    assert job.last_error is not None
    assert job.last_error.startswith("coupon.expire: RuntimeError: coupon service down\n")
    # The failed run's writes were rolled back.
    assert emitted_payloads(session_factory) == []

    frozen_clock.advance(seconds=1)
    assert runner.run_due(10) == 0
    frozen_clock.advance(seconds=1)
    assert runner.run_due(10) == 1
    job = load_job(session_factory, job_id)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 2)
    assert job.run_at == frozen_clock.now() + timedelta(seconds=4)

    frozen_clock.advance(seconds=4)
    assert runner.run_due(10) == 1
    job = load_job(session_factory, job_id)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.DEAD, 3, frozen_clock.now())
    assert job.last_error is not None
    assert "coupon service down" in job.last_error
    frozen_clock.advance(days=1)
    assert runner.run_due(10) == 0
    assert len(calls.payloads) == 3
    with session_factory() as session:
        assert job_stats(session) == {"queued": 0, "running": 0, "succeeded": 0, "dead": 1}

    with transaction(session_factory) as session:
        assert retry_dead(session, job_id) is True
        assert session.info[WAKE_KEY] is True
    calls.failure = None
    assert runner.run_due(10) == 1
    job = load_job(session_factory, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 0)
    assert emitted_payloads(session_factory) == [{"coupon_id": 1, "call": 4}]
    with transaction(session_factory) as session:
        assert retry_dead(session, job_id) is False


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_commit(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    calls = Calls()
    registry = make_registry(calls)
    job_id = enqueue_committed(session_factory, registry, {"coupon_id": 1})
    slow = JobRunner(session_factory, registry, worker_id="worker-slow", lease_seconds=60)
    fast = JobRunner(session_factory, registry, worker_id="worker-fast", lease_seconds=60)
    [claimed] = slow.claim(10)
    job = load_job(session_factory, job_id)
    assert (job.status, job.locked_by, job.locked_until) == (
        JobStatus.RUNNING,
        "worker-slow",
        frozen_clock.now() + timedelta(seconds=60),
    )
    assert fast.run_due(10) == 0

    frozen_clock.advance(seconds=61)
    assert fast.run_due(10) == 1
    # The stalled worker finally runs its copy: its writes must be rolled back.
    assert slow.run(claimed) is False

    job = load_job(session_factory, job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.SUCCEEDED, 1, None)
    assert job.last_error == "lease expired while held by worker-slow"
    assert len(calls.payloads) == 2
    assert emitted_payloads(session_factory) == [{"coupon_id": 1, "call": 1}]


def test_a_job_that_keeps_losing_its_lease_ends_dead(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    registry = make_registry(Calls(), max_attempts=2)
    job_id = enqueue_committed(session_factory, registry, {"coupon_id": 1})
    runners = [
        JobRunner(session_factory, registry, worker_id=f"worker-{n}", lease_seconds=60)
        for n in range(3)
    ]

    assert len(runners[0].claim(10)) == 1
    frozen_clock.advance(seconds=61)
    assert len(runners[1].claim(10)) == 1
    assert load_job(session_factory, job_id).attempts == 1
    frozen_clock.advance(seconds=61)
    assert runners[2].claim(10) == []

    job = load_job(session_factory, job_id)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.DEAD, 2, frozen_clock.now())
    assert job.last_error == "lease expired while held by worker-1"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_sqlite_only_the_lease_holder_runs_jobs(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock, engine: Engine
) -> None:
    calls = Calls()
    registry = make_registry(calls)
    first = JobRunner(session_factory, registry, worker_id="process-1", sqlite_lease_seconds=30)
    second = JobRunner(session_factory, registry, worker_id="process-2", sqlite_lease_seconds=30)
    assert first.run_due(10) == 0
    with session_factory() as session:
        lease = session.get(WorkerLease, "jobs")
        assert lease is not None
        assert (lease.holder, lease.expires_at) == (
            "process-1",
            frozen_clock.now() + timedelta(seconds=30),
        )
    enqueue_committed(session_factory, registry, {"coupon_id": 1})

    frozen_clock.advance(seconds=29)
    assert second.run_due(10) == 0
    assert calls.payloads == []

    frozen_clock.advance(seconds=2)
    assert second.run_due(10) == 1
    assert calls.payloads == [{"coupon_id": 1}]
    enqueue_committed(session_factory, registry, {"coupon_id": 2})
    assert first.run_due(10) == 0

    second.release_lease()
    assert first.run_due(10) == 1
    assert calls.payloads == [{"coupon_id": 1}, {"coupon_id": 2}]


def test_jobs_finished_per_hour_counts_succeeded_jobs_in_utc_hours(
    session: Session, frozen_clock: FrozenClock
) -> None:
    frozen_clock.advance(minutes=30)  # 02:30 UTC
    now = frozen_clock.now()
    finished = {
        now: JobStatus.SUCCEEDED,
        now - timedelta(minutes=30): JobStatus.SUCCEEDED,  # 02:00, same hour
        now - timedelta(minutes=31): JobStatus.SUCCEEDED,  # 01:59
        now - timedelta(hours=2, minutes=10): JobStatus.SUCCEEDED,  # 00:20
        now - timedelta(hours=2, minutes=31): JobStatus.SUCCEEDED,  # 23:59, outside
        now - timedelta(minutes=5): JobStatus.DEAD,
    }
    for moment, status in finished.items():
        session.add(
            Job(
                task="coupon.expire",
                payload={},
                status=status,
                run_at=moment,
                attempts=0,
                max_attempts=5,
                created_at=moment,
                finished_at=moment,
            )
        )
    session.flush()

    hour = now.replace(minute=0)
    assert jobs_finished_per_hour(session, hours=3) == [
        (hour - timedelta(hours=2), 1),
        (hour - timedelta(hours=1), 1),
        (hour, 2),
    ]
    assert jobs_finished_per_hour(session, hours=1, status=JobStatus.DEAD) == [(hour, 1)]


@pytest.fixture
def job_run_table(committed_engine: Engine) -> Iterator[None]:
    with committed_engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS test_job_run"))
        connection.execute(text("CREATE TABLE test_job_run (job_n integer, runner text)"))
    yield
    with committed_engine.begin() as connection:
        connection.execute(text("DROP TABLE test_job_run"))


@pytest.mark.usefixtures("job_run_table")
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_parallel_workers_on_postgresql_run_every_job_exactly_once(
    session_factory: sessionmaker[Session], committed_engine: Engine
) -> None:
    total = 500
    started: list[int] = []
    lock = threading.Lock()

    def record(session: Session, payload: dict[str, Any]) -> None:
        with lock:
            started.append(payload["n"])
        session.execute(
            text("INSERT INTO test_job_run (job_n, runner) VALUES (:n, :runner)"),
            {"n": payload["n"], "runner": threading.current_thread().name},
        )

    registry = TaskRegistry()
    registry.register("test.record", record)
    with transaction(session_factory) as session:
        for n in range(total):
            enqueue(session, "test.record", {"n": n}, registry=registry)

    url = committed_engine.url.render_as_string(hide_password=False)
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "run-jobs", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"

    def drain(name: str) -> None:
        runner = JobRunner(session_factory, registry, worker_id=name)
        while runner.run_due(5):
            pass

    threads = [
        threading.Thread(target=drain, args=(f"thread-{n}",), name=f"thread-{n}") for n in range(3)
    ]
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for child in children:
        output, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        started.extend(json.loads(output.strip().splitlines()[-1]))

    assert len(started) == total
    assert sorted(started) == list(range(total))
    with session_factory() as session:
        assert job_stats(session) == {"queued": 0, "running": 0, "succeeded": total, "dead": 0}
        rows = session.execute(text("SELECT job_n, runner FROM test_job_run")).all()
    assert sorted(row.job_n for row in rows) == list(range(total))
    # Not a vacuous pass: several workers really competed for the same queue.
    assert len({row.runner for row in rows}) >= 2
