"""Replay the demo brand's order history through the members handlers, in time order.

The brand leaves its order events pending in the outbox with their historical
``occurred_at``. Here the ``members.*`` handlers registered for order.paid /
finalised / refunded / cancelled run on them with the clock at each event's moment,
so growth, tiers, frozen points and their thaw carry the dates they would have had.
The events stay pending: when the worker dispatches them later the members handlers
find their references already written and do nothing (they are idempotent), and the
other domains' handlers still run.

Only events from the program's launch (``counts_from``) on are replayed: the
handlers ignore orders paid before it, so replaying those would only cost time. A
failing handler fails the demo: the brand is generated, so a failure is a bug.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.outbox import DomainEvent, HandlerFunction, default_registry
from siyu.models.outbox import OutboxEvent, OutboxStatus
from siyu.orders import events

REPLAYED = (
    events.ORDER_PAID,
    events.ORDER_FINALISED,
    events.ORDER_REFUNDED,
    events.ORDER_CANCELLED,
)
HANDLER_PREFIX = "members."
PAGE = 1000


@dataclass(frozen=True)
class _Row:
    id: int
    event_id: str
    name: str
    payload: dict[str, Any]
    occurred_at: datetime
    available_at: datetime


def member_handlers() -> dict[str, list[HandlerFunction]]:
    registry = default_registry()
    return {
        name: [
            function
            for handler_name, function in registry.handlers_for(name).items()
            if handler_name.startswith(HANDLER_PREFIX)
        ]
        for name in REPLAYED
    }


def _pending(since: datetime) -> Any:
    return and_(
        OutboxEvent.status == OutboxStatus.PENDING,
        OutboxEvent.name.in_(REPLAYED),
        OutboxEvent.occurred_at >= since,
    )


def ceiling(session: Session) -> int:
    """The last outbox id before the offers phase: events above it are the phase's own."""
    return int(session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))) or 0)


def count_history(session: Session, up_to_id: int, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(_pending(since), OutboxEvent.id <= up_to_id)
        )
        or 0
    )


class Replay:
    """A cursor over the historical events (id ≤ ceiling), oldest first, plus the
    events the phase's own actions emit (id > ceiling), handled right after them."""

    def __init__(self, frozen: FrozenClock, history_ceiling: int, since: datetime) -> None:
        self.frozen = frozen
        self.since = since
        self.ceiling = history_ceiling
        self.handlers = member_handlers()
        self._cursor: tuple[datetime, int] | None = None
        self._buffer: deque[_Row] = deque()
        self._exhausted = False
        self._own_cursor = history_ceiling
        self.handled = 0
        # Time spent on the historical events (the figure docs/demo.md reports).
        self.seconds = 0.0

    def _fill(self, session: Session) -> None:
        statement = (
            select(
                OutboxEvent.id,
                OutboxEvent.event_id,
                OutboxEvent.name,
                OutboxEvent.payload,
                OutboxEvent.occurred_at,
                OutboxEvent.available_at,
            )
            .where(_pending(self.since), OutboxEvent.id <= self.ceiling)
            .order_by(OutboxEvent.available_at, OutboxEvent.id)
            .limit(PAGE)
        )
        if self._cursor is not None:
            at, last_id = self._cursor
            statement = statement.where(
                or_(
                    OutboxEvent.available_at > at,
                    and_(OutboxEvent.available_at == at, OutboxEvent.id > last_id),
                )
            )
        rows = [_Row(*row) for row in session.execute(statement)]
        if not rows:
            self._exhausted = True
            return
        self._buffer.extend(rows)
        self._cursor = (rows[-1].available_at, rows[-1].id)

    def next_at(self, session: Session) -> datetime | None:
        """When the next historical event happened; None when there is none left."""
        if not self._buffer and not self._exhausted:
            self._fill(session)
        return self._buffer[0].available_at if self._buffer else None

    def handle_next(self, session: Session) -> None:
        self._handle(session, self._buffer.popleft())

    def handle_own(self, session: Session) -> int:
        """Handle the order events the phase's last action emitted, in id order.

        Every event above the cursor is read once (coupon events too, then passed
        over), so the cursor never re-scans what earlier actions emitted."""
        rows = session.execute(
            select(
                OutboxEvent.id,
                OutboxEvent.event_id,
                OutboxEvent.name,
                OutboxEvent.payload,
                OutboxEvent.occurred_at,
                OutboxEvent.available_at,
                OutboxEvent.status,
            )
            .where(OutboxEvent.id > self._own_cursor)
            .order_by(OutboxEvent.id)
        ).all()
        moment = self.frozen.now()
        handled = 0
        for *fields, status in rows:
            row = _Row(*fields)
            self._own_cursor = row.id
            if status == OutboxStatus.PENDING and row.name in REPLAYED:
                self._handle(session, row)
                handled += 1
        self.frozen.set(moment)
        return handled

    def _handle(self, session: Session, row: _Row) -> None:
        self.frozen.set(row.occurred_at)
        event = DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
        for function in self.handlers.get(row.name, []):
            function(session, event)
        self.handled += 1
