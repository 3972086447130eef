"""A customer's tracked events, newest first, with keyset pagination.

The cursor encodes the last row's ``(occurred_at, id)``; the next page continues
strictly below it. Unlike OFFSET, every page costs the same however deep it is (one
range scan of ``ix_tracked_event_customer_time``), and events arriving meanwhile
never shift rows between pages. The cursor is opaque to clients (base64url).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from siyu.core.errors import ValidationFailed
from siyu.customers.profile import find_customer
from siyu.customers.schemas import TimelineEvent, TimelinePage
from siyu.models.tracking import TrackedEvent
from siyu.staff.principal import Principal

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(ValidationFailed):
    code = "customer.invalid_cursor"
    message = "The cursor is not one this server gave out."


class InvalidLimit(ValidationFailed):
    code = "customer.invalid_limit"


def encode_cursor(occurred_at: datetime, row_id: int) -> str:
    raw = f"{occurred_at.astimezone(UTC).isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, row_id = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        occurred_at = datetime.fromisoformat(moment)
        if occurred_at.tzinfo is None:
            raise ValueError("naive")
        return occurred_at, int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor() from error


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidLimit(f"limit must be between 1 and {MAX_LIMIT}.", data={"max": MAX_LIMIT})
    return limit


def timeline_statement(
    customer_id: int, *, limit: int, cursor: str | None = None, event_type: str | None = None
) -> Select[TrackedEvent]:
    statement = select(TrackedEvent).where(TrackedEvent.customer_id == customer_id)
    if event_type:
        statement = statement.where(TrackedEvent.type == event_type)
    if cursor:
        occurred_at, row_id = decode_cursor(cursor)
        # A row-value comparison: both engines walk the (customer_id, occurred_at, id)
        # index backwards from the cursor instead of counting skipped rows.
        statement = statement.where(
            tuple_(TrackedEvent.occurred_at, TrackedEvent.id) < tuple_(occurred_at, row_id)
        )
    return statement.order_by(TrackedEvent.occurred_at.desc(), TrackedEvent.id.desc()).limit(
        limit + 1
    )


def events_page(
    session: Session,
    customer_id: int,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    event_type: str | None = None,
) -> TimelinePage:
    """One page of a customer's events (no scope check: callers have done it)."""
    check_limit(limit)
    rows = list(
        session.scalars(
            timeline_statement(customer_id, limit=limit, cursor=cursor, event_type=event_type)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more else None
    return TimelinePage(
        customer_id=customer_id,
        items=[
            TimelineEvent(
                id=row.id,
                event_id=row.event_id,
                type=row.type,
                occurred_at=row.occurred_at,
                received_at=row.received_at,
                touchpoint=row.touchpoint,
                channel_code_id=row.channel_code_id,
                context=row.context or {},
                properties=row.properties or {},
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


def timeline(
    session: Session,
    principal: Principal,
    customer_id: int,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    event_type: str | None = None,
) -> TimelinePage:
    customer = find_customer(session, principal, customer_id)
    return events_page(session, customer.id, limit=limit, cursor=cursor, event_type=event_type)
