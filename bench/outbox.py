"""Outbox dispatch throughput, end to end, on SQLite and PostgreSQL.

End to end means: a producer writes domain events in ordinary transactions (like
requests that emit a few events each) while the real in-process :class:`Worker`,
woken by the commit hook, dispatches them; the clock stops when every event has been
handled and marked done. The same run with ``batch_size=1`` (one event per dispatch
transaction, and no coalescing pause between worker rounds) is the naive baseline. A second figure,
"backlog", times draining events that were all written beforehand (a worker coming
back after an outage), again against the one-event-per-transaction baseline, and
"writing alone" is the producer's rate without any dispatcher: end to end cannot beat
it, since producer and in-process worker share one interpreter (and its GIL).

    .venv/bin/python bench/outbox.py --events 20000
    .venv/bin/python bench/outbox.py --database-url sqlite:////tmp/bench.db

Goal (docs/benchmarks.md): >= 5,000 events/s on SQLite, >= 2,000/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import is_sqlite_url, make_engine, make_session_factory, normalise_url
from siyu.core.db import transaction as unit_of_work
from siyu.core.migrations import upgrade
from siyu.core.notify import install_commit_hook
from siyu.core.outbox import Dispatcher, DomainEvent, HandlerRegistry, emit
from siyu.core.worker import Worker
from siyu.models import OutboxEvent, OutboxStatus, ProcessedEvent

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/siyu_bench"


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()
        self.reached = threading.Event()
        self.target = 0

    def reset(self, target: int) -> None:
        with self.lock:
            self.value = 0
            self.target = target
            self.reached.clear()

    def handle(self, _session: Session, _event: DomainEvent) -> None:
        with self.lock:
            self.value += 1
            if self.value >= self.target:
                self.reached.set()


def ensure_postgres_database(url: str) -> None:
    """Create the bench database through the ``test`` database if it is missing."""
    target = make_url(normalise_url(url))
    admin = create_engine(target.set(database="test"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def empty_outbox(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            # TRUNCATE, not DELETE: every run starts without the dead index entries
            # the previous one left behind for autovacuum.
            session.execute(text("TRUNCATE outbox_event, processed_event"))
            return
        session.execute(delete(ProcessedEvent))
        session.execute(delete(OutboxEvent))


def write_events(factory: sessionmaker[Session], events: int, per_transaction: int) -> None:
    written = 0
    while written < events:
        with unit_of_work(factory) as session:
            for _ in range(min(per_transaction, events - written)):
                emit(session, "order.paid", {"order_id": written, "amount_fen": 1990})
                written += 1


def count_done(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.status == OutboxStatus.DONE)
            )
            or 0
        )


def wait_all_done(factory: sessionmaker[Session], counter: Counter, events: int) -> None:
    if not counter.reached.wait(600):
        raise RuntimeError("handlers did not see every event in time")
    # The last batch commits just after its handlers ran.
    while count_done(factory) < events:
        time.sleep(0.002)


def end_to_end(
    factory: sessionmaker[Session],
    registry: HandlerRegistry,
    counter: Counter,
    *,
    events: int,
    handlers: int,
    per_transaction: int,
    batch_size: int,
) -> float:
    empty_outbox(factory)
    counter.reset(events * handlers)
    dispatcher = Dispatcher(factory, registry, batch_size=batch_size)
    worker = Worker(factory, dispatcher=dispatcher, poll_interval=1.0)
    if batch_size == 1:
        # The naive baseline dispatches as soon as it is woken, without the worker's
        # coalescing pause (which would otherwise cap it at a few events per pause).
        worker.min_round_interval = 0
    worker.start()
    try:
        started = time.perf_counter()
        write_events(factory, events, per_transaction)
        wait_all_done(factory, counter, events)
        elapsed = time.perf_counter() - started
    finally:
        worker.stop(30)
    return events / elapsed


def backlog(
    factory: sessionmaker[Session],
    registry: HandlerRegistry,
    counter: Counter,
    *,
    events: int,
    handlers: int,
    per_transaction: int,
    batch_size: int,
) -> tuple[float, float]:
    """Write a backlog, then drain it; return (write rate, dispatch rate)."""
    empty_outbox(factory)
    started = time.perf_counter()
    write_events(factory, events, per_transaction)
    written = events / (time.perf_counter() - started)
    counter.reset(events * handlers)
    dispatcher = Dispatcher(factory, registry, batch_size=batch_size)
    started = time.perf_counter()
    dispatcher.dispatch_pending()
    elapsed = time.perf_counter() - started
    if count_done(factory) != events or counter.value != events * handlers:
        raise RuntimeError("backlog dispatch left events behind")
    return written, events / elapsed


def bench_database(url: str, arguments: argparse.Namespace, report: Callable[[str], None]) -> None:
    if not is_sqlite_url(url):
        ensure_postgres_database(url)
    upgrade(url)
    engine: Engine = make_engine(url)
    factory = make_session_factory(engine)
    counter = Counter()
    registry = HandlerRegistry()
    for number in range(arguments.handlers):
        registry.register("order.paid", f"bench.count{number}", counter.handle)

    common = (factory, registry, counter)
    events, baseline, handlers = arguments.events, arguments.baseline_events, arguments.handlers
    per_transaction, batch_size = arguments.events_per_transaction, arguments.batch_size
    batched = end_to_end(
        *common,
        events=events,
        handlers=handlers,
        per_transaction=per_transaction,
        batch_size=batch_size,
    )
    naive = end_to_end(
        *common, events=baseline, handlers=handlers, per_transaction=per_transaction, batch_size=1
    )
    written, drained = backlog(
        *common,
        events=events,
        handlers=handlers,
        per_transaction=per_transaction,
        batch_size=batch_size,
    )
    _, drained_naive = backlog(
        *common, events=baseline, handlers=handlers, per_transaction=per_transaction, batch_size=1
    )
    empty_outbox(factory)
    engine.dispose()
    name = engine.dialect.name
    report(
        f"{name:<10} end to end {batched:>9,.0f} events/s   "
        f"naive {naive:>7,.0f}/s   ratio {batched / naive:5.1f}x"
    )
    report(
        f"{'':<10} backlog    {drained:>9,.0f} events/s   "
        f"naive {drained_naive:>7,.0f}/s   ratio {drained / drained_naive:5.1f}x"
    )
    report(f"{'':<10} writing alone {written:>6,.0f} events/s (the producer side of end to end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--baseline-events",
        type=int,
        default=None,
        help="events for the one-event-per-transaction baseline (default: events / 4)",
    )
    parser.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="repeatable; default: a temp SQLite file and " + POSTGRES_URL,
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--handlers", type=int, default=1)
    parser.add_argument("--events-per-transaction", type=int, default=10)
    arguments = parser.parse_args()
    arguments.baseline_events = arguments.baseline_events or max(arguments.events // 4, 100)
    logging.basicConfig(level=logging.WARNING)
    install_commit_hook()

    with tempfile.TemporaryDirectory() as directory:
        urls = arguments.database_url or [f"sqlite:///{Path(directory) / 'bench.db'}", POSTGRES_URL]
        print(
            f"outbox dispatch: {arguments.events:,} events ({arguments.baseline_events:,} "
            f"for the naive baseline), {arguments.handlers} handler(s), "
            f"{arguments.events_per_transaction} events per write transaction, "
            f"batch {arguments.batch_size}"
        )
        for url in urls:
            bench_database(url, arguments, print)


if __name__ == "__main__":
    main()
