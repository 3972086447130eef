from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.jobs import TaskRegistry, enqueue, job_stats
from siyu.core.notify import (
    Notifier,
    RedisWakeBridge,
    default_notifier,
    install_commit_hook,
    uninstall_commit_hook,
)
from siyu.core.outbox import Dispatcher, DomainEvent, HandlerRegistry, emit, outbox_stats
from siyu.core.worker import Worker
from siyu.models import OutboxEvent, OutboxStatus, WorkerLease

CHILD = Path(__file__).with_name("worker_child.py")


@pytest.fixture(autouse=True)
def commit_hook() -> Iterator[None]:
    install_commit_hook()
    yield
    uninstall_commit_hook()


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def event_status(factory: sessionmaker[Session], event_id: str) -> str:
    with factory() as session:
        return session.scalars(
            select(OutboxEvent.status).where(OutboxEvent.event_id == event_id)
        ).one()


def test_run_once_dispatches_events_then_runs_the_jobs_they_enqueued(
    session_factory: sessionmaker[Session],
) -> None:
    tasks = TaskRegistry()
    sent: list[dict[str, Any]] = []
    tasks.register("message.send", lambda _session, payload: sent.append(payload))
    handlers = HandlerRegistry()

    @handlers.handler("order.paid", name="message.schedule")
    def schedule(session: Session, event: DomainEvent) -> None:
        enqueue(session, "message.send", {"order_id": event.payload["order_id"]}, registry=tasks)

    with transaction(session_factory) as session:
        event_id = emit(session, "order.paid", {"order_id": 4})
    worker = Worker(session_factory, outbox_registry=handlers, task_registry=tasks)

    assert worker.run_once() == 2

    assert sent == [{"order_id": 4}]
    assert event_status(session_factory, event_id) == OutboxStatus.DONE
    with session_factory() as session:
        assert job_stats(session)["succeeded"] == 1
    assert worker.run_once() == 0
    assert worker.rounds_completed == 2


def test_the_commit_hook_notifies_after_the_outermost_commit_only(
    session_factory: sessionmaker[Session],
) -> None:
    wake = default_notifier().subscribe()
    try:
        with session_factory() as session:
            with session.begin_nested():
                emit(session, "order.paid", {"order_id": 1})
            assert not wake.is_set()
            session.commit()
        assert wake.is_set()

        wake.clear()
        with session_factory() as session:
            emit(session, "order.paid", {"order_id": 2})
            session.rollback()
            session.add(WorkerLease(name="unrelated", holder="x", expires_at=clock.now()))
            session.commit()
        assert not wake.is_set()

        with session_factory() as session:
            emit(session, "order.paid", {"order_id": 3})
            session.close()
            session.add(WorkerLease(name="still-unrelated", holder="x", expires_at=clock.now()))
            session.commit()
        assert not wake.is_set()
    finally:
        default_notifier().unsubscribe(wake)


def test_a_commit_wakes_a_sleeping_worker_at_once(
    session_factory: sessionmaker[Session],
) -> None:
    handlers = HandlerRegistry()
    delivered = threading.Event()
    handlers.register("order.paid", "test.signal", lambda _session, _event: delivered.set())
    worker = Worker(session_factory, outbox_registry=handlers, poll_interval=30)
    worker.start()
    try:
        assert wait_for(lambda: worker.rounds_completed >= 1, 5)
        # Written without asking for a wake-up: the worker sleeps through it.
        with transaction(session_factory) as session:
            now = clock.now()
            session.execute(
                insert(OutboxEvent).values(
                    event_id="00000000-0000-0000-0000-000000000001",
                    name="order.paid",
                    payload={},
                    occurred_at=now,
                    available_at=now,
                    status="pending",
                    attempts=0,
                )
            )
        assert not delivered.wait(0.3)

        started = time.monotonic()
        with transaction(session_factory) as session:
            event_id = emit(session, "order.paid", {"order_id": 1})
        assert delivered.wait(5)
        assert time.monotonic() - started < 5
        assert wait_for(lambda: event_status(session_factory, event_id) == OutboxStatus.DONE, 5)
    finally:
        assert worker.stop(10) is True
    assert worker.is_running is False


def test_without_a_wake_up_the_worker_still_polls(
    session_factory: sessionmaker[Session],
) -> None:
    handlers = HandlerRegistry()
    delivered = threading.Event()
    handlers.register("order.paid", "test.signal", lambda _session, _event: delivered.set())
    worker = Worker(session_factory, outbox_registry=handlers, poll_interval=0.1)
    worker.start()
    try:
        assert wait_for(lambda: worker.rounds_completed >= 1, 5)
        uninstall_commit_hook()
        with transaction(session_factory) as session:
            emit(session, "order.paid", {"order_id": 1})
        assert delivered.wait(5)
    finally:
        assert worker.stop(10) is True


class BrokenOnce(Dispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = 0

    def dispatch_pending(self, *, max_batches: int | None = None) -> int:
        if self.failures == 0:
            self.failures += 1
            raise RuntimeError("database went away")
        return super().dispatch_pending(max_batches=max_batches)


def test_the_worker_survives_errors_and_keeps_going(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    handlers = HandlerRegistry()
    delivered = threading.Event()
    handlers.register("order.paid", "test.signal", lambda _session, _event: delivered.set())
    dispatcher = BrokenOnce(session_factory, handlers)
    with transaction(session_factory) as session:
        emit(session, "order.paid", {"order_id": 1})
    worker = Worker(session_factory, dispatcher=dispatcher, poll_interval=0.05)

    worker.start()
    try:
        assert delivered.wait(5)
    finally:
        assert worker.stop(10) is True
    assert dispatcher.failures == 1
    assert "outbox dispatch failed" in caplog.text


def test_stopping_the_worker_releases_the_sqlite_job_lease(
    session_factory: sessionmaker[Session], engine: Engine
) -> None:
    worker = Worker(session_factory, worker_id="serve-1", poll_interval=0.05)
    worker.start()
    assert wait_for(lambda: worker.rounds_completed >= 1, 5)
    with session_factory() as session:
        holder = session.scalar(select(WorkerLease.holder))
    assert holder == ("serve-1" if engine.dialect.name == "sqlite" else None)

    assert worker.stop(10) is True
    with session_factory() as session:
        assert session.scalar(select(WorkerLease.holder)) is None


def test_redis_carries_wake_ups_between_processes_without_echo(redis_url: str) -> None:
    serve, worker = Notifier(), Notifier()
    # A channel of its own: Redis pub/sub ignores the database number, and another
    # siyu on this Redis would otherwise wake these notifiers too.
    channel = f"siyu:wake:test:{uuid.uuid4().hex}"
    serve_bridge = RedisWakeBridge(redis_url, notifier=serve, channel=channel)
    worker_bridge = RedisWakeBridge(redis_url, notifier=worker, channel=channel)
    serve_bridge.start()
    worker_bridge.start()
    try:
        assert serve_bridge.wait_until_subscribed(5)
        assert worker_bridge.wait_until_subscribed(5)
        woken = worker.subscribe()
        echo = serve.subscribe()

        serve.notify()

        assert woken.wait(5)
        echo.clear()
        # The worker side must not publish the wake-up back (nor would serve's own
        # message count): nothing may set serve's flag again.
        assert not echo.wait(0.5)
    finally:
        serve_bridge.stop()
        worker_bridge.stop()


def test_a_worker_process_wakes_on_a_commit_in_another_process(
    session_factory: sessionmaker[Session], committed_engine: Engine, redis_url: str
) -> None:
    url = committed_engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "worker", url, redis_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    bridge = RedisWakeBridge(redis_url)
    bridge.start()
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        assert bridge.wait_until_subscribed(5)

        with transaction(session_factory) as session:
            event_id = emit(session, "test.wake", {})

        # The child polls every 60 s: only the Redis wake-up gets this done in time.
        assert wait_for(lambda: event_status(session_factory, event_id) == "done", 10)
        child.send_signal(signal.SIGTERM)
        output, errors = child.communicate(timeout=10)
        assert child.returncode == 0, errors
        assert output.strip() == "stopped"
    finally:
        bridge.stop()
        if child.poll() is None:
            child.kill()
            child.wait()
    with session_factory() as session:
        assert outbox_stats(session) == {"pending": 0, "done": 1, "dead": 0}
