from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.notify import WAKE_KEY, install_commit_hook, uninstall_commit_hook
from siyu.core.outbox import (
    Dispatcher,
    DomainEvent,
    HandlerRegistry,
    emit,
    emit_many,
    exponential_backoff,
    outbox_stats,
    purge_dispatched,
    redeliver,
)
from siyu.models import OutboxEvent, OutboxStatus, ProcessedEvent, WorkerLease

CHILD = Path(__file__).with_name("worker_child.py")
NO_JITTER = exponential_backoff(jitter=0)


@pytest.fixture(autouse=True)
def commit_hook() -> Iterator[None]:
    install_commit_hook()
    yield
    uninstall_commit_hook()


def load_event(factory: sessionmaker[Session], event_id: str) -> OutboxEvent:
    with factory() as session:
        return session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == event_id)).one()


def processed_pairs(factory: sessionmaker[Session]) -> set[tuple[str, str]]:
    with factory() as session:
        rows = session.execute(select(ProcessedEvent.event_id, ProcessedEvent.handler))
        return {(event_id, handler_name) for event_id, handler_name in rows}


class Recorder:
    """A handler that records the events it saw and can be told to fail."""

    created = 0

    def __init__(self, failure: Exception | None = None) -> None:
        self.seen: list[DomainEvent] = []
        self.failure = failure
        Recorder.created += 1
        self.label = f"recorder-{Recorder.created}"

    def __call__(self, session: Session, event: DomainEvent) -> None:
        self.seen.append(event)
        # A write inside the handler: it must commit with the batch or roll back with
        # the handler's savepoint.
        session.add(
            WorkerLease(
                name=f"{self.label}:{event.event_id}:{len(self.seen)}",
                holder="h",
                expires_at=event.occurred_at,
            )
        )
        if self.failure is not None:
            raise self.failure


def test_emit_adds_a_pending_event_to_the_callers_session(
    session: Session, frozen_clock: FrozenClock
) -> None:
    event_id = emit(session, "order.paid", {"order_id": 12, "amount_fen": 990})

    assert session.info[WAKE_KEY] is True
    session.flush()
    event = session.scalars(select(OutboxEvent)).one()
    assert (event.event_id, event.name, event.payload) == (
        event_id,
        "order.paid",
        {"order_id": 12, "amount_fen": 990},
    )
    assert (event.status, event.attempts, event.last_error, event.dispatched_at) == (
        OutboxStatus.PENDING,
        0,
        None,
        None,
    )
    assert event.occurred_at == frozen_clock.now()
    assert event.available_at == frozen_clock.now()


def test_emit_many_writes_one_pending_event_per_payload(
    session: Session, frozen_clock: FrozenClock
) -> None:
    # More than one executemany batch on SQLite, so the chunking is exercised too.
    payloads = [{"segment_id": 3, "customer_id": number} for number in range(1, 5_003)]

    assert emit_many(session, "segment.entered", iter(payloads)) == 5_002

    assert session.info[WAKE_KEY] is True
    events = session.execute(
        select(OutboxEvent.name, OutboxEvent.payload, OutboxEvent.status, OutboxEvent.occurred_at)
    ).all()
    assert sorted(event.payload["customer_id"] for event in events) == list(range(1, 5_003))
    assert {(e.name, e.status, e.occurred_at) for e in events} == {
        ("segment.entered", OutboxStatus.PENDING, frozen_clock.now())
    }
    ids = session.scalars(select(OutboxEvent.event_id)).all()
    assert len(set(ids)) == 5_002


def test_emit_many_of_nothing_writes_nothing(session: Session) -> None:
    assert emit_many(session, "segment.exited", []) == 0
    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert WAKE_KEY not in session.info


def test_emit_with_available_at_delays_the_event(
    session: Session, frozen_clock: FrozenClock
) -> None:
    later = frozen_clock.now() + timedelta(hours=2)
    emit(session, "coupon.expiring", {"coupon_id": 3}, available_at=later)
    session.flush()
    assert session.scalars(select(OutboxEvent.available_at)).one() == later


def test_a_rolled_back_transaction_leaves_no_event(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        emit(session, "order.paid", {"order_id": 1})
        session.flush()
        session.rollback()
        assert WAKE_KEY not in session.info
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


@pytest.mark.parametrize(
    "payload",
    [{"when": object()}, {"ratio": float("nan")}, ["not", "a", "dict"]],
    ids=["object", "nan", "list"],
)
def test_emit_refuses_a_payload_that_is_not_json(session: Session, payload: object) -> None:
    with pytest.raises(ValueError, match="order.paid"):
        emit(session, "order.paid", payload)  # type: ignore[arg-type]
    assert list(session.new) == []
    assert WAKE_KEY not in session.info


def test_emit_stores_a_copy_of_the_payload(session: Session) -> None:
    payload = {"order_id": 1, "items": (1, 2)}
    emit(session, "order.paid", payload)
    payload["order_id"] = 2
    session.flush()
    assert session.scalars(select(OutboxEvent.payload)).one() == {"order_id": 1, "items": [1, 2]}


def test_a_handler_name_is_registered_once_per_event() -> None:
    registry = HandlerRegistry()

    @registry.handler("order.paid", name="points.earn")
    def earn(_session: Session, _event: DomainEvent) -> None:
        pass

    registry.register("order.refunded", "points.earn", earn)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("order.paid", "points.earn", earn)
    assert list(registry.handlers_for("order.paid")) == ["points.earn"]
    assert registry.event_names() == ["order.paid", "order.refunded"]


def test_dispatch_delivers_each_event_to_every_handler_once(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    registry = HandlerRegistry()
    points, growth = Recorder(), Recorder()
    registry.register("order.paid", "points.earn", points)
    registry.register("order.paid", "growth.earn", growth)
    with transaction(session_factory) as session:
        first = emit(session, "order.paid", {"order_id": 1})
        second = emit(session, "order.paid", {"order_id": 2})
        unhandled = emit(session, "customer.merged", {"customer_id": 5})
    dispatcher = Dispatcher(session_factory, registry)

    assert dispatcher.dispatch_batch() == 3

    assert [event.event_id for event in points.seen] == [first, second]
    assert [event.event_id for event in growth.seen] == [first, second]
    assert points.seen[0] == DomainEvent(first, "order.paid", {"order_id": 1}, frozen_clock.now())
    for event_id in (first, second, unhandled):
        event = load_event(session_factory, event_id)
        assert (event.status, event.attempts, event.dispatched_at) == (
            OutboxStatus.DONE,
            0,
            frozen_clock.now(),
        )
    assert processed_pairs(session_factory) == {
        (first, "points.earn"),
        (first, "growth.earn"),
        (second, "points.earn"),
        (second, "growth.earn"),
    }
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WorkerLease)) == 4

    assert dispatcher.dispatch_batch() == 0
    assert (len(points.seen), len(growth.seen)) == (2, 2)


def test_redispatching_an_event_skips_handlers_that_already_processed_it(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    registry = HandlerRegistry()
    points = Recorder()
    registry.register("order.paid", "points.earn", points)
    with transaction(session_factory) as session:
        event_id = emit(session, "order.paid", {"order_id": 1})
    dispatcher = Dispatcher(session_factory, registry)
    assert dispatcher.dispatch_batch() == 1
    # As if delivery were attempted again (an operator, a restored backup...).
    with transaction(session_factory) as session:
        session.execute(update(OutboxEvent).values(status=OutboxStatus.PENDING))

    assert dispatcher.dispatch_batch() == 1

    assert len(points.seen) == 1
    assert load_event(session_factory, event_id).status == OutboxStatus.DONE


def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    registry = HandlerRegistry()
    points, flaky = Recorder(), Recorder(RuntimeError("partner is down"))
    registry.register("order.paid", "points.earn", points)
    registry.register("order.paid", "crm.sync", flaky)
    with transaction(session_factory) as session:
        event_id = emit(session, "order.paid", {"order_id": 1})
    dispatcher = Dispatcher(session_factory, registry, max_attempts=3, backoff=NO_JITTER)

    assert dispatcher.dispatch_batch() == 0
    event = load_event(session_factory, event_id)
    assert (event.status, event.attempts) == (OutboxStatus.PENDING, 1)
    assert event.available_at == frozen_clock.now() + timedelta(seconds=2)
    assert event.last_error is not None
    assert event.last_error.startswith("crm.sync: RuntimeError: partner is down\n")
    assert "Traceback" in event.last_error
    assert processed_pairs(session_factory) == {(event_id, "points.earn")}
    # The failing handler's write was rolled back with its savepoint; the other kept.
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WorkerLease)) == 1

    frozen_clock.advance(seconds=1.9)
    assert dispatcher.run_batch().claimed == 0
    frozen_clock.advance(seconds=0.1)
    assert dispatcher.dispatch_batch() == 0
    event = load_event(session_factory, event_id)
    assert (event.status, event.attempts) == (OutboxStatus.PENDING, 2)
    assert event.available_at == frozen_clock.now() + timedelta(seconds=4)

    frozen_clock.advance(seconds=4)
    outcome = dispatcher.run_batch()
    assert (outcome.claimed, outcome.done, outcome.retried, outcome.dead) == (1, 0, 0, 1)
    event = load_event(session_factory, event_id)
    assert (event.status, event.attempts, event.dispatched_at) == (OutboxStatus.DEAD, 3, None)
    assert event.last_error is not None
    assert "partner is down" in event.last_error

    frozen_clock.advance(hours=2)
    assert dispatcher.run_batch().claimed == 0
    assert (len(points.seen), len(flaky.seen)) == (1, 3)
    with session_factory() as session:
        assert outbox_stats(session) == {"pending": 0, "done": 0, "dead": 1}

    # An operator fixes the partner and redelivers: only the failed handler runs.
    with transaction(session_factory) as session:
        assert redeliver(session, event_id) is True
        assert session.info[WAKE_KEY] is True
    flaky.failure = None
    assert dispatcher.dispatch_batch() == 1
    assert (len(points.seen), len(flaky.seen)) == (1, 4)
    event = load_event(session_factory, event_id)
    assert (event.status, event.attempts, event.dispatched_at) == (
        OutboxStatus.DONE,
        0,
        frozen_clock.now(),
    )
    with transaction(session_factory) as session:
        assert redeliver(session, event_id) is False


def test_events_are_claimed_in_order_in_batches_and_only_when_due(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    registry = HandlerRegistry()
    seen = Recorder()
    registry.register("tick", "tick.count", seen)
    with transaction(session_factory) as session:
        ids = [emit(session, "tick", {"n": n}) for n in range(5)]
        later = emit(
            session, "tick", {"n": 5}, available_at=frozen_clock.now() + timedelta(minutes=1)
        )
    dispatcher = Dispatcher(session_factory, registry, batch_size=2)

    assert dispatcher.dispatch_batch() == 2
    assert [event.event_id for event in seen.seen] == ids[:2]
    assert dispatcher.dispatch_pending() == 3
    assert [event.event_id for event in seen.seen] == ids

    frozen_clock.advance(minutes=1)
    assert dispatcher.dispatch_pending() == 1
    assert seen.seen[-1].event_id == later
    with session_factory() as session:
        assert outbox_stats(session) == {"pending": 0, "done": 6, "dead": 0}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_parallel_dispatchers_on_postgresql_deliver_each_event_once(
    session_factory: sessionmaker[Session], committed_engine: Engine
) -> None:
    total = 1000
    delivered: list[int] = []
    lock = threading.Lock()

    def record(_session: Session, event: DomainEvent) -> None:
        with lock:
            delivered.append(event.payload["n"])

    registry = HandlerRegistry()
    registry.register("tick", "tick.record", record)
    with transaction(session_factory) as session:
        for n in range(total):
            emit(session, "tick", {"n": n})
    dispatchers = [Dispatcher(session_factory, registry, batch_size=20) for _ in range(4)]
    threads = [threading.Thread(target=dispatcher.dispatch_pending) for dispatcher in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(delivered) == list(range(total))
    with session_factory() as session:
        assert outbox_stats(session) == {"pending": 0, "done": total, "dead": 0}
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == total


def test_purge_removes_old_done_events_only(
    session_factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    registry = HandlerRegistry()
    registry.register("tick", "tick.count", Recorder())
    with transaction(session_factory) as session:
        old = emit(session, "tick", {})
    Dispatcher(session_factory, registry).dispatch_batch()
    frozen_clock.advance(days=8)
    with transaction(session_factory) as session:
        recent = emit(session, "tick", {})
        pending = emit(session, "tick", {}, available_at=frozen_clock.now() + timedelta(days=1))
    Dispatcher(session_factory, registry).dispatch_batch()

    with transaction(session_factory) as session:
        assert purge_dispatched(session, before=frozen_clock.now() - timedelta(days=7)) == 1

    with session_factory() as session:
        assert set(session.scalars(select(OutboxEvent.event_id))) == {recent, pending}
    assert processed_pairs(session_factory) == {(recent, "tick.count")}
    assert old not in {event_id for event_id, _ in processed_pairs(session_factory)}


def test_default_backoff_doubles_up_to_an_hour_with_bounded_jitter() -> None:
    lowest = exponential_backoff(random_source=lambda: 0.0)
    highest = exponential_backoff(random_source=lambda: 1.0)

    assert [lowest(n).total_seconds() for n in (1, 2, 3, 11)] == [2, 4, 8, 2048]
    assert lowest(12) == timedelta(hours=1)
    assert lowest(10_000) == timedelta(hours=1)
    assert highest(3) == timedelta(seconds=8 * 1.1)
    assert highest(40) == timedelta(seconds=3600 * 1.1)


def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run_child(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), *args], capture_output=True, text=True, timeout=60
    )


def test_an_event_committed_by_a_process_killed_before_dispatch_is_delivered(
    session_factory: sessionmaker[Session], committed_engine: Engine
) -> None:
    child = run_child("emit-and-die", database_url(committed_engine))
    assert child.returncode == 9, child.stderr
    event_id = child.stdout.strip()
    assert load_event(session_factory, event_id).status == OutboxStatus.PENDING

    registry = HandlerRegistry()
    recorder = Recorder()
    registry.register("test.crash", "test.record", recorder)
    assert Dispatcher(session_factory, registry).dispatch_batch() == 1

    assert [event.event_id for event in recorder.seen] == [event_id]
    assert [event.payload for event in recorder.seen] == [{"order_id": 7}]
    assert load_event(session_factory, event_id).status == OutboxStatus.DONE


def test_a_process_killed_inside_a_handler_loses_nothing(
    session_factory: sessionmaker[Session], committed_engine: Engine
) -> None:
    with transaction(session_factory) as session:
        event_id = emit(session, "test.crash", {"order_id": 8})

    child = run_child("die-in-handler", database_url(committed_engine))

    assert child.returncode == 9, child.stderr
    event = load_event(session_factory, event_id)
    assert (event.status, event.attempts) == (OutboxStatus.PENDING, 0)
    assert processed_pairs(session_factory) == set()
    registry = HandlerRegistry()
    recorder = Recorder()
    registry.register("test.crash", "test.die", recorder)
    assert Dispatcher(session_factory, registry).dispatch_batch() == 1
    assert [event.event_id for event in recorder.seen] == [event_id]
    assert processed_pairs(session_factory) == {(event_id, "test.die")}
