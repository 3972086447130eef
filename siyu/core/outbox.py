"""Domain events: written in the caller's transaction, delivered at least once.

A service calls :func:`emit` inside the request's transaction, so the event exists
exactly when the state change it describes does. :class:`Dispatcher` later claims
pending events in batches and runs every registered handler. Each (event, handler)
that completes is recorded in ``processed_event`` in the same transaction as the
handler's own writes, which makes a handler run at most once per successful commit
and at least once overall: a crash before the commit simply repeats the batch.
Handlers must be idempotent anyway and must not call ``commit()``; anything that
talks to the outside world (WeChat, SMS) belongs in a job enqueued by the handler.

Events are claimed oldest first (by ``available_at``, then id); order is not
guaranteed across retries or parallel dispatchers.
"""

from __future__ import annotations

import json
import logging
import random
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import rowcount, transaction
from siyu.core.event_ids import event_id_stream, new_event_id
from siyu.core.notify import request_wake
from siyu.models.outbox import OutboxEvent, OutboxStatus, ProcessedEvent

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 100
ERROR_MAX_LENGTH = 4000

Backoff = Callable[[int], timedelta]


def exponential_backoff(
    *,
    base_seconds: float = 1.0,
    cap_seconds: float = 3600.0,
    jitter: float = 0.1,
    random_source: Callable[[], float] = random.random,
) -> Backoff:
    """``base * 2**attempts`` seconds, capped, stretched by up to ``jitter`` (a fraction).

    The jitter spreads retries of events that failed together (say, a partner API
    outage) so they do not all come back in the same second.
    """

    def delay(attempts: int) -> timedelta:
        # Bound the exponent: 2**attempts overflows a float long after the cap is hit.
        seconds = min(base_seconds * 2 ** min(attempts, 62), cap_seconds)
        return timedelta(seconds=seconds * (1 + jitter * random_source()))

    return delay


def describe_error(error: BaseException, *, prefix: str | None = None) -> str:
    """``prefix: ExceptionType: message`` followed by the tail of the traceback."""
    head = f"{type(error).__name__}: {error}"
    if prefix:
        head = f"{prefix}: {head}"
    head = head if len(head) <= 1000 else head[:997] + "..."
    trace = "".join(traceback.format_exception(error)).rstrip()
    room = ERROR_MAX_LENGTH - len(head) - 1
    return f"{head}\n{trace[-room:]}" if room > 0 else head


def json_payload(what: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A JSON round-tripped copy of ``payload``; ValueError if it is not JSON.

    The copy is what handlers and tasks will see after the database round trip, and
    later mutation of the caller's dict cannot leak into the row before the flush.
    NaN and infinity are refused because PostgreSQL's JSONB refuses them.
    """
    if not isinstance(payload, dict):
        raise ValueError(f"payload of {what!r} must be a dict, not {type(payload).__name__}")
    try:
        encoded = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"payload of {what!r} is not JSON-serialisable: {error}") from error
    decoded: dict[str, Any] = json.loads(encoded)
    return decoded


@dataclass(frozen=True)
class DomainEvent:
    event_id: str
    name: str
    payload: dict[str, Any]
    occurred_at: datetime


HandlerFunction = Callable[[Session, DomainEvent], None]
HandlerT = TypeVar("HandlerT", bound=HandlerFunction)


def _check_name(kind: str, value: str) -> None:
    if not value or len(value) > NAME_MAX_LENGTH:
        raise ValueError(f"{kind} must be 1 to {NAME_MAX_LENGTH} characters: {value!r}")


class HandlerRegistry:
    """Handlers by event name. Handler names are stored in ``processed_event``: keep
    them stable, since renaming one makes it run again for events still pending."""

    def __init__(self) -> None:
        self._by_event: dict[str, dict[str, HandlerFunction]] = {}

    def register(self, event_name: str, name: str, function: HandlerFunction) -> None:
        _check_name("event name", event_name)
        _check_name("handler name", name)
        handlers = self._by_event.setdefault(event_name, {})
        if name in handlers:
            raise ValueError(f"handler {name!r} is already registered for {event_name!r}")
        handlers[name] = function

    def handler(self, event_name: str, *, name: str) -> Callable[[HandlerT], HandlerT]:
        def decorate(function: HandlerT) -> HandlerT:
            self.register(event_name, name, function)
            return function

        return decorate

    def handlers_for(self, event_name: str) -> dict[str, HandlerFunction]:
        return self._by_event.get(event_name, {})

    def event_names(self) -> list[str]:
        return sorted(self._by_event)


_default_registry = HandlerRegistry()


def default_registry() -> HandlerRegistry:
    return _default_registry


def handler(event_name: str, *, name: str) -> Callable[[HandlerT], HandlerT]:
    """Register a handler on the global registry: ``@handler("order.paid", name="points.earn")``."""
    return _default_registry.handler(event_name, name=name)


def register_handler(event_name: str, name: str, function: HandlerFunction) -> None:
    _default_registry.register(event_name, name, function)


_INSERT_EVENT = insert(OutboxEvent)


def emit(
    session: Session,
    name: str,
    payload: dict[str, Any],
    *,
    available_at: datetime | None = None,
) -> str:
    """Record a domain event in the caller's transaction (no commit) and return its id."""
    _check_name("event name", name)
    now = clock.now()
    event_id = new_event_id()
    # A Core insert on the session's connection, not session.add(): it skips the
    # unit-of-work bookkeeping, which made writing events ~35 % faster on SQLite
    # (docs/benchmarks.md). It runs in the same transaction, so atomicity is unchanged.
    session.connection().execute(
        _INSERT_EVENT,
        {
            "event_id": event_id,
            "name": name,
            "payload": json_payload(name, payload),
            "occurred_at": now,
            "available_at": available_at or now,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
        },
    )
    request_wake(session)
    return event_id


def emit_many(session: Session, name: str, payloads: Iterable[dict[str, Any]]) -> int:
    """Record one domain event per payload, in bulk (segment entries and exits of a
    whole refresh, lifecycle transitions); same rows and semantics as :func:`emit`.

    Payloads are not round-tripped through JSON here (a million of them would cost
    seconds): callers pass plain ids and strings, and a bad value fails the insert."""
    from siyu.core.bulk_insert import insert_many

    _check_name("event name", name)
    now = clock.now()
    sent = insert_many(
        session,
        cast(Table, OutboxEvent.__table__),
        ("event_id", "payload"),
        zip(event_id_stream(), payloads, strict=False),
        constants={
            "name": name,
            "occurred_at": now,
            "available_at": now,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
        },
    )
    if sent:
        request_wake(session)
    return sent


@dataclass
class BatchOutcome:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0


class Dispatcher:
    """Delivers pending events to the handlers of ``registry`` in batches.

    One transaction per batch is the throughput lever: the claim, every handler's
    writes, the ``processed_event`` rows and the status updates commit together
    (docs/benchmarks.md, "Outbox dispatch"). On PostgreSQL the claim uses
    ``FOR UPDATE SKIP LOCKED`` so parallel dispatchers take disjoint batches; on
    SQLite every transaction is ``BEGIN IMMEDIATE`` (core/db.py), so dispatchers take
    turns. A large batch holds SQLite's write lock longer; 500 fast handlers take a
    few milliseconds.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        registry: HandlerRegistry | None = None,
        *,
        batch_size: int = 500,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
    ) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be positive")
        self.session_factory = session_factory
        self.registry = registry if registry is not None else _default_registry
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff = backoff or exponential_backoff()

    def dispatch_batch(self) -> int:
        """Dispatch one batch; return how many events were delivered to all handlers."""
        return self.run_batch().done

    def dispatch_pending(self, *, max_batches: int | None = None) -> int:
        """Dispatch batches until one comes back short; return the events handled."""
        handled = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            outcome = self.run_batch()
            handled += outcome.claimed
            batches += 1
            if outcome.claimed < self.batch_size:
                break
        return handled

    def run_batch(self) -> BatchOutcome:
        with transaction(self.session_factory) as session:
            return self._run_batch(session)

    def _run_batch(self, session: Session) -> BatchOutcome:
        now = clock.now()
        rows = session.execute(
            select(
                OutboxEvent.id,
                OutboxEvent.event_id,
                OutboxEvent.name,
                OutboxEvent.payload,
                OutboxEvent.occurred_at,
                OutboxEvent.attempts,
            )
            .where(OutboxEvent.status == OutboxStatus.PENDING, OutboxEvent.available_at <= now)
            # The order of ix_outbox_event_due, so the claim reads just ``batch_size``
            # index entries. ORDER BY id alone walks the primary key past every done
            # event (10 ms per claim at 100k rows on PostgreSQL, growing for ever).
            .order_by(OutboxEvent.available_at, OutboxEvent.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        outcome = BatchOutcome(claimed=len(rows))
        if not rows:
            return outcome

        already_processed = self._processed_pairs(session, (row.event_id for row in rows))
        processed: list[dict[str, Any]] = []
        done_ids: list[int] = []
        for row in rows:
            event = DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
            errors: list[str] = []
            for handler_name, function in self.registry.handlers_for(row.name).items():
                if (row.event_id, handler_name) in already_processed:
                    continue
                try:
                    # A failing handler rolls back its own writes only; the other
                    # handlers and the rest of the batch still commit.
                    with session.begin_nested():
                        function(session, event)
                except Exception as error:
                    logger.warning(
                        "handler %s failed on %s %s",
                        handler_name,
                        row.name,
                        row.event_id,
                        exc_info=True,
                    )
                    errors.append(describe_error(error, prefix=handler_name))
                    continue
                processed.append(
                    {"event_id": row.event_id, "handler": handler_name, "processed_at": now}
                )
            if not errors:
                done_ids.append(row.id)
                continue
            if self._record_failure(session, row.id, row.attempts, errors, now):
                outcome.dead += 1
            else:
                outcome.retried += 1

        if processed:
            session.execute(insert(ProcessedEvent), processed)
        if done_ids:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(done_ids))
                .values(status=OutboxStatus.DONE, dispatched_at=now)
                .execution_options(synchronize_session=False)
            )
        outcome.done = len(done_ids)
        return outcome

    @staticmethod
    def _processed_pairs(session: Session, event_ids: Iterable[str]) -> set[tuple[str, str]]:
        result = session.execute(
            select(ProcessedEvent.event_id, ProcessedEvent.handler).where(
                ProcessedEvent.event_id.in_(list(event_ids))
            )
        )
        return {(event_id, handler_name) for event_id, handler_name in result}

    def _record_failure(
        self, session: Session, row_id: int, attempts: int, errors: list[str], now: datetime
    ) -> bool:
        """Schedule a retry, or dead-letter at ``max_attempts``; True when dead."""
        attempts += 1
        is_dead = attempts >= self.max_attempts
        message = "\n\n".join(errors)[:ERROR_MAX_LENGTH]
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == row_id)
            .values(
                attempts=attempts,
                last_error=message,
                status=OutboxStatus.DEAD if is_dead else OutboxStatus.PENDING,
                available_at=now if is_dead else now + self.backoff(attempts),
            )
            .execution_options(synchronize_session=False)
        )
        if is_dead:
            logger.error("outbox event %s dead-lettered after %d attempts", row_id, attempts)
        return is_dead


def redeliver(session: Session, event_id: str) -> bool:
    """Put a dead event back to pending with fresh attempts; False if it is not dead.

    Handlers that already succeeded for it are not run again.
    """
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.event_id == event_id, OutboxEvent.status == OutboxStatus.DEAD)
        .values(status=OutboxStatus.PENDING, attempts=0, available_at=clock.now())
    )
    if rowcount(result) != 1:
        return False
    request_wake(session)
    return True


def dead_events(session: Session, *, limit: int = 50) -> list[OutboxEvent]:
    """The newest dead-lettered events, for an operator to read and redeliver."""
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.status == OutboxStatus.DEAD)
            .order_by(OutboxEvent.id.desc())
            .limit(limit)
        )
    )


def outbox_stats(session: Session) -> dict[str, int]:
    """Event counts by status, every status present (for health and the console)."""
    counts = {status.value: 0 for status in OutboxStatus}
    rows = session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status))
    for status, count in rows:
        counts[status] = count
    return counts


def purge_dispatched(session: Session, *, before: datetime) -> int:
    """Delete done events dispatched before ``before`` and their processed rows.

    Dead and pending events are kept whatever their age: they still need attention.
    """
    old_events = select(OutboxEvent.event_id).where(
        OutboxEvent.status == OutboxStatus.DONE, OutboxEvent.dispatched_at < before
    )
    session.execute(
        delete(ProcessedEvent)
        .where(ProcessedEvent.event_id.in_(old_events))
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.status == OutboxStatus.DONE, OutboxEvent.dispatched_at < before)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
