"""Ingest a batch of tracked events: validate each, resolve identities, store once.

Flow per batch (one transaction, owned by the caller):

1. check every event on its own (``validate.check_event``); a bad one is rejected
   with its index, the others go on;
2. look the batch's channel codes up in one query and its identities up through
   ``identify.resolve_batch`` (anonymous ids of the same person join the customer);
3. insert all good events with one multi-row ``INSERT … ON CONFLICT (event_id) DO
   NOTHING … RETURNING event_id`` — a repeat of a stored event_id is a duplicate,
   never a second row, even when two requests race;
4. attribute the *newly stored* events that carry a channel code (a re-sent event
   must not count a visit twice) and move ``last_seen_at`` forward.

No domain event is emitted per tracked event (volume): the warehouse exporter reads
``tracked_event`` by ``received_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes import attribution
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.json_text import batch_json_encoder
from siyu.customers import identify
from siyu.events import errors
from siyu.events.validate import CheckedEvent, IngestPolicy, Rejection, check_events
from siyu.models.customer import Customer
from siyu.models.tracking import TrackedEvent

MAX_BATCH_EVENTS = 1_000
MAX_BATCH_BYTES = 1024 * 1024


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    # The customers the stored events were attributed to (for callers and tests).
    customer_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [
                {"index": item.index, "code": item.code, "message": item.message}
                for item in self.rejected
            ],
        }


def ingest(
    session: Session,
    cipher: PiiCipher,
    events: Sequence[object],
    *,
    source: str,
    received_at: datetime | None = None,
    forced_customer_id: int | None = None,
    policy: IngestPolicy | None = None,
    anonymous_only: bool = False,
) -> IngestResult:
    """Store the good events of ``events``; report the bad ones by index.

    ``forced_customer_id`` is the storefront variant: the customer session decides
    who acted, and identities inside the events are ignored (the stitch of a
    device's anonymous id to the customer happens when the session is issued with
    that anonymous id among its identities).
    """
    now = received_at or clock.now()
    policy = policy or IngestPolicy()
    result = IngestResult()
    checked, result.rejected = check_events(
        events,
        now=now,
        policy=policy,
        need_identities=forced_customer_id is None,
        anonymous_only=anonymous_only,
    )

    checked = _drop_repeats_in_batch(checked, result)
    checked, code_refs = _check_channel_codes(session, checked, result)
    if forced_customer_id is None:
        customers, created = _resolve(session, cipher, checked, result, source=source)
        checked = [item for item in checked if item.index in customers]
    else:
        customers = {item.index: forced_customer_id for item in checked}
        created = set()
    result.rejected.sort(key=lambda item: item.index)
    if not checked:
        return result

    # SQLite: each new event's occurred_at in storage text, reused by _touch_last_seen.
    occurred_text: dict[int, str] = {}
    stored = _insert(session, checked, customers, code_refs, received_at=now, out=occurred_text)
    result.accepted = len(stored)
    result.duplicates += len(checked) - len(stored)
    stored_events = [item for item in checked if item.event_id in stored]
    _attribute(session, stored_events, customers, created, code_refs)
    _touch_last_seen(session, stored_events, customers, occurred_text)
    result.customer_ids = sorted({customers[item.index] for item in stored_events})
    return result


def _drop_repeats_in_batch(checked: list[CheckedEvent], result: IngestResult) -> list[CheckedEvent]:
    # The first occurrence wins; later ones in the same batch are duplicates.
    seen: set[str] = set()
    unique: list[CheckedEvent] = []
    for item in checked:
        if item.event_id in seen:
            result.duplicates += 1
            continue
        seen.add(item.event_id)
        unique.append(item)
    return unique


def _check_channel_codes(
    session: Session, checked: list[CheckedEvent], result: IngestResult
) -> tuple[list[CheckedEvent], dict[str, attribution.ChannelCodeRef]]:
    codes = {item.channel_code for item in checked if item.channel_code}
    if not codes:
        return checked, {}
    refs = attribution.lookup_codes(session, codes)
    kept: list[CheckedEvent] = []
    for item in checked:
        if item.channel_code and item.channel_code not in refs:
            result.rejected.append(
                Rejection(
                    item.index,
                    errors.UNKNOWN_CHANNEL_CODE,
                    f"Unknown channel code {item.channel_code!r}.",
                )
            )
        else:
            kept.append(item)
    return kept, refs


def _resolve(
    session: Session,
    cipher: PiiCipher,
    checked: list[CheckedEvent],
    result: IngestResult,
    *,
    source: str,
) -> tuple[dict[int, int], set[int]]:
    """Map event index → customer id; the set holds indexes whose customer was created."""
    customers: dict[int, int] = {}
    created: set[int] = set()
    singles: list[CheckedEvent] = []
    for item in checked:
        if len(item.identities) == 1:
            singles.append(item)
            continue
        try:
            # Several identities may merge or conflict: identify runs each in its own
            # savepoint, so a conflict (409 for /identify) rejects only this event.
            # They go first so their merges are visible to the single-identity lookups.
            full = identify.identify(session, cipher, None, item.identities, None, source=source)
        except SiyuError as problem:
            result.rejected.append(Rejection(item.index, problem.code, problem.message))
            continue
        customers[item.index] = full.customer_id
        if full.created:
            created.add(item.index)
    if singles:
        for item, resolution in _resolve_singles(session, cipher, singles, result, source):
            customers[item.index] = resolution.customer_id
            if resolution.created:
                created.add(item.index)
    return customers, created


def _resolve_singles(
    session: Session,
    cipher: PiiCipher,
    singles: list[CheckedEvent],
    result: IngestResult,
    source: str,
) -> list[tuple[CheckedEvent, identify.Resolution]]:
    """One ``resolve_batch`` for the batch; per-event validation only when it fails.

    Optimistic because validating every identity first normalises each twice, ~10 %
    of the whole ingest (bench/ingest.py); a batch with a bad identity pays instead.
    """
    try:
        with session.begin_nested():
            resolutions = identify.resolve_batch(
                session, cipher, [item.identities for item in singles], source=source
            )
        return list(zip(singles, resolutions, strict=True))
    except SiyuError:
        pass
    valid: list[CheckedEvent] = []
    for item in singles:
        try:
            identify.validate_identities(cipher, item.identities)
        except SiyuError as problem:
            result.rejected.append(Rejection(item.index, problem.code, problem.message))
            continue
        valid.append(item)
    if not valid:
        return []
    resolutions = identify.resolve_batch(
        session, cipher, [item.identities for item in valid], source=source
    )
    return list(zip(valid, resolutions, strict=True))


def _insert(
    session: Session,
    checked: list[CheckedEvent],
    customers: dict[int, int],
    code_refs: dict[str, attribution.ChannelCodeRef],
    *,
    received_at: datetime,
    out: dict[int, str],
) -> set[str]:
    """Insert the batch; return the event_ids that are new.

    On SQLite ``out`` receives ``{event index: occurred_at as stored text}``.
    """
    if session.get_bind().dialect.name == "sqlite":
        return _insert_sqlite(session, checked, customers, code_refs, received_at, out)
    rows = [
        {
            "event_id": item.event_id,
            "customer_id": customers[item.index],
            "type": item.type,
            "occurred_at": item.occurred_at,
            "received_at": received_at,
            "touchpoint": item.touchpoint,
            "channel_code_id": code_refs[item.channel_code].id if item.channel_code else None,
            "context": item.context,
            "properties": item.properties,
        }
        for item in checked
    ]
    # One multi-row statement (SQLAlchemy's insertmanyvalues); ON CONFLICT makes a
    # repeated event_id a no-op even against a concurrent request, and RETURNING
    # tells exactly which rows are new.
    statement = (
        postgresql.insert(TrackedEvent)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(TrackedEvent.event_id)
    )
    return set(session.execute(statement, rows).scalars())


_SQLITE_INSERT = (
    "INSERT INTO tracked_event (event_id, customer_id, type, occurred_at, received_at,"
    " touchpoint, channel_code_id, context, properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (event_id) DO NOTHING"
)


def sqlite_time(moment: datetime) -> str:
    """The text UTCDateTime stores on SQLite (naive UTC, SQLAlchemy's DateTime format)."""
    if moment.tzinfo is UTC:
        # Already UTC (validate.py converts every occurred_at): an aware isoformat
        # ends in "+00:00", so slicing it off skips astimezone and replace (two new
        # datetimes per call, ~40 % of this function).
        return moment.isoformat(" ", "microseconds")[:-6]
    # isoformat is C-fast where strftime is not; timespec keeps the microseconds.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert_sqlite(
    session: Session,
    checked: list[CheckedEvent],
    customers: dict[int, int],
    code_refs: dict[str, attribution.ChannelCodeRef],
    received_at: datetime,
    out: dict[int, str],
) -> set[str]:
    """The SQLite fast path: plain executemany with values already in storage form.

    SQLAlchemy's per-value type processing and RETURNING cost ~40 µs per event here,
    more than everything else together (bench/ingest.py). Which events are new is
    told by SQLite itself: ``ON CONFLICT (event_id) DO NOTHING`` skips a repeat and
    the connection's change counter counts the rows stored. When it equals the batch
    (the usual case) every event is new and nothing more is read; otherwise the new
    rows are the ones above the highest id before the insert — the transaction began
    with ``BEGIN IMMEDIATE`` and holds the database's only write lock, so no other
    writer adds rows in between, and a new rowid is always above every existing one.
    (Reading the ids that already existed first cost ~0.5 ms of a 17 ms batch.)
    """
    connection = session.connection()
    driver = connection.connection.driver_connection
    text = batch_json_encoder()
    received = sqlite_time(received_at)
    for item in checked:
        out[item.index] = sqlite_time(item.occurred_at)
    highest = connection.exec_driver_sql("SELECT max(id) FROM tracked_event").scalar()
    changes_before = driver.total_changes  # type: ignore[union-attr]
    # Tuples built straight from the checked events (no intermediate row dicts).
    # exec_driver_sql: straight to sqlite3's executemany, no per-row compilation.
    connection.exec_driver_sql(
        _SQLITE_INSERT,
        [
            (
                item.event_id,
                customers[item.index],
                item.type,
                out[item.index],
                received,
                item.touchpoint,
                code_refs[item.channel_code].id if item.channel_code else None,
                text(item.context),
                text(item.properties),
            )
            for item in checked
        ],
    )
    stored = driver.total_changes - changes_before  # type: ignore[union-attr]
    if stored == len(checked):
        return {item.event_id for item in checked}
    if stored == 0:
        return set()
    return set(
        connection.exec_driver_sql(
            "SELECT event_id FROM tracked_event WHERE id > ?", (highest or 0,)
        ).scalars()
    )


def _attribute(
    session: Session,
    stored: list[CheckedEvent],
    customers: dict[int, int],
    created: set[int],
    code_refs: dict[str, attribution.ChannelCodeRef],
) -> None:
    if not code_refs:
        # No event of the batch names a channel code: nothing to sort or attribute.
        return
    touches = [
        attribution.Touch(
            customer_id=customers[item.index],
            channel_code_id=code_refs[item.channel_code].id,
            touchpoint=item.touchpoint,
            how="visit",
            at=item.occurred_at,
            is_new_customer=item.index in created,
        )
        for item in sorted(stored, key=lambda event: event.occurred_at)
        # An inactive code still names where the event came from, but no longer
        # attributes customers (the operator switched it off).
        if item.channel_code and code_refs[item.channel_code].is_active
    ]
    if touches:
        attribution.apply_touches(session, touches)


def _touch_last_seen(
    session: Session,
    stored: list[CheckedEvent],
    customers: dict[int, int],
    occurred_text: dict[int, str],
) -> None:
    # The latest stored event per customer.
    latest: dict[int, CheckedEvent] = {}
    for item in stored:
        customer_id = customers[item.index]
        seen = latest.get(customer_id)
        if seen is None or item.occurred_at > seen.occurred_at:
            latest[customer_id] = item
    if not latest:
        return
    # Only ever forward: a late-arriving old event must not move last_seen_at back.
    # Rows in id order so concurrent batches lock customers in the same order.
    # exec_driver_sql: straight to the driver's executemany, no per-row compilation.
    if session.get_bind().dialect.name == "sqlite":
        sql = _LAST_SEEN.replace(":seen_at", "?").replace(":customer_id", "?")
        rows: list[tuple[Any, ...]] = []
        for customer in sorted(latest):
            # The text the insert already formatted for this event (else format it).
            index = latest[customer].index
            seen_at = occurred_text.get(index) or sqlite_time(latest[customer].occurred_at)
            rows.append((seen_at, customer, seen_at))
    else:
        sql = _LAST_SEEN.replace(":seen_at", "%s").replace(":customer_id", "%s")
        rows = [
            (latest[customer].occurred_at, customer, latest[customer].occurred_at)
            for customer in sorted(latest)
        ]
    session.connection().exec_driver_sql(sql, rows)
    # The update bypassed the ORM: loaded customers must read last_seen_at again.
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Customer) and instance.id in latest:
            session.expire(instance, ["last_seen_at"])


# Plain SQL (no per-value type processing): last_seen_at is not a profile edit, so
# updated_at is left alone.
_LAST_SEEN = (
    "UPDATE customer SET last_seen_at = :seen_at WHERE id = :customer_id"
    " AND (last_seen_at IS NULL OR last_seen_at < :seen_at)"
)
