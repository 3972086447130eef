"""Bulk identity lookups and creation for ``identify.resolve_batch`` (event ingest).

Core statements on the session's connection, built once per shape so SQLAlchemy's
compiled cache is hit: on the ingest path a batch of 1,000 single-identity sets
must cost a few milliseconds, not the ORM's per-row bookkeeping.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from siyu.customers.kinds import IdentityKey, NormalisedIdentity
from siyu.models.customer import Customer, CustomerIdentity, CustomerStatus

IDENTITY = cast(Table, CustomerIdentity.__table__)
CUSTOMER = cast(Table, Customer.__table__)
# Keys per IN list: well under SQLite's host-parameter limit (32,766).
LOOKUP_CHUNK = 2000

RawKey = tuple[str, str, str]


def raw_key(key: IdentityKey) -> RawKey:
    return (key.kind.value, key.namespace, key.lookup_key)


@functools.lru_cache(maxsize=64)
def _lookup_statement(groups: int) -> Any:
    """(kind, namespace) groups, each with ``lookup_key IN (...)``: follows the unique index."""
    clauses = [
        and_(
            IDENTITY.c.kind == bindparam(f"k{index}"),
            IDENTITY.c.namespace == bindparam(f"n{index}"),
            IDENTITY.c.lookup_key.in_(bindparam(f"l{index}", expanding=True)),
        )
        for index in range(groups)
    ]
    return select(
        IDENTITY.c.id,
        IDENTITY.c.customer_id,
        IDENTITY.c.kind,
        IDENTITY.c.namespace,
        IDENTITY.c.lookup_key,
        IDENTITY.c.last_seen_at,
    ).where(or_(*clauses))


def bulk_lookup(session: Session, keys: Iterable[RawKey]) -> dict[RawKey, Any]:
    """Existing identity rows for raw ``(kind, namespace, lookup_key)`` keys."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for kind, namespace, lookup_key in keys:
        grouped.setdefault((kind, namespace), []).append(lookup_key)
    chunks = [
        (kind, namespace, lookup_keys[start : start + LOOKUP_CHUNK])
        for (kind, namespace), lookup_keys in grouped.items()
        for start in range(0, len(lookup_keys), LOOKUP_CHUNK)
    ]
    found: dict[RawKey, Any] = {}
    connection = session.connection()
    # A few groups per statement keeps the parameter count bounded.
    for start in range(0, len(chunks), 8):
        part = chunks[start : start + 8]
        parameters: dict[str, Any] = {}
        for index, (kind, namespace, lookup_keys) in enumerate(part):
            parameters[f"k{index}"] = kind
            parameters[f"n{index}"] = namespace
            parameters[f"l{index}"] = lookup_keys
        for row in connection.execute(_lookup_statement(len(part)), parameters):
            found[(row.kind, row.namespace, row.lookup_key)] = row
    return found


def lookup_owners(
    session: Session, keys: Iterable[RawKey], horizon: datetime
) -> dict[RawKey, tuple[int, int, bool]]:
    """``{raw key: (identity id, customer id, last_seen_at < horizon)}`` for known keys.

    The ingest path's lookup: only what ``resolve_batch`` needs. On SQLite the query
    goes straight to the driver (``exec_driver_sql``) and the staleness test runs in
    SQL, because building 1,000 typed rows (a UTCDateTime parse per row) cost about
    half of ``resolve_batch``. The stored text (fixed-width ``YYYY-MM-DD
    HH:MM:SS.ffffff``, naive UTC) orders exactly as the datetimes do.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return {
            raw: (int(row.id), int(row.customer_id), row.last_seen_at < horizon)
            for raw, row in bulk_lookup(session, keys).items()
        }
    grouped: dict[tuple[str, str], list[str]] = {}
    for kind, namespace, lookup_key in keys:
        grouped.setdefault((kind, namespace), []).append(lookup_key)
    # The text UTCDateTime stores on SQLite (SQLAlchemy's DateTime format).
    horizon_text = horizon.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    found: dict[RawKey, tuple[int, int, bool]] = {}
    for (kind, namespace), lookup_keys in grouped.items():
        for start in range(0, len(lookup_keys), LOOKUP_CHUNK):
            chunk = lookup_keys[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = connection.exec_driver_sql(
                "SELECT lookup_key, id, customer_id, last_seen_at < ? FROM customer_identity"  # noqa: S608
                f" WHERE kind = ? AND namespace = ? AND lookup_key IN ({marks})",
                (horizon_text, kind, namespace, *chunk),
            ).all()
            for lookup_key, identity_id, customer_id, stale in rows:
                found[(kind, namespace, lookup_key)] = (identity_id, customer_id, bool(stale))
    return found


def touch(session: Session, identity_ids: list[int], now: datetime) -> None:
    if identity_ids:
        session.connection().execute(
            update(IDENTITY).where(IDENTITY.c.id.in_(identity_ids)).values(last_seen_at=now)
        )


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = dialect_insert(IDENTITY).on_conflict_do_nothing(
        index_elements=["kind", "namespace", "lookup_key"]
    )
    connection.execute(statement, rows)


def _sqlite_time(moment: datetime) -> str:
    """The text UTCDateTime stores on SQLite (naive UTC, SQLAlchemy's DateTime format)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# Rows per multi-row customer INSERT: 5 parameters each, far below SQLite's limit.
_CUSTOMER_ROWS = 500
_SQLITE_IDENTITY_INSERT = (
    "INSERT INTO customer_identity (customer_id, kind, namespace, lookup_key, value,"
    " encrypted_value, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, namespace, lookup_key) DO NOTHING"
)


def _create_customers_sqlite(session: Session, count: int, now: datetime) -> list[int]:
    """``count`` new active customers, in multi-row INSERT … RETURNING statements.

    SQLAlchemy's ``sort_by_parameter_order`` cannot batch on SQLite and ran one INSERT
    per customer (~60 % of a batch of new visitors). The rows are identical except
    for their id, so the order RETURNING reports ids in does not matter. The values
    are written in the text the model types store (status, "{}" for consent, UTC text).
    """
    connection = session.connection()
    moment = _sqlite_time(now)
    row = (CustomerStatus.ACTIVE.value, "{}", moment, moment, moment)
    ids: list[int] = []
    for start in range(0, count, _CUSTOMER_ROWS):
        size = min(_CUSTOMER_ROWS, count - start)
        values = ",".join(["(?, ?, ?, ?, ?)"] * size)
        ids.extend(
            connection.exec_driver_sql(
                "INSERT INTO customer (status, consent, created_at, updated_at, last_seen_at)"
                f" VALUES {values} RETURNING id",
                row * size,
            ).scalars()
        )
    return ids


def bulk_create(
    session: Session, items: list[NormalisedIdentity], now: datetime
) -> dict[RawKey, tuple[int, bool]]:
    """A new customer per unknown key: ``{raw key: (customer_id, created)}``.

    Identities go in with ON CONFLICT DO NOTHING and are read back, so a racing
    caller that inserted a key first wins; our customer for that key is deleted again.
    """
    if not items:
        return {}
    connection = session.connection()
    # Raw keys once per item: IdentityKind.value (an enum property) costs ~2 µs a call.
    raws = [raw_key(item.key) for item in items]
    if connection.dialect.name == "sqlite":
        # Driver-level statements with values in storage form (as the event insert
        # does): Core's per-value type processing was most of this function's time.
        customer_ids = _create_customers_sqlite(session, len(items), now)
        ours = dict(zip(raws, customer_ids, strict=True))
        moment = _sqlite_time(now)
        connection.exec_driver_sql(
            _SQLITE_IDENTITY_INSERT,
            [
                (
                    customer_id,
                    *raw,
                    item.value,
                    item.encrypted_value,
                    moment,
                    moment,
                )
                for raw, customer_id, item in zip(raws, customer_ids, items, strict=True)
            ],
        )
        owners = {
            raw: customer_id
            for raw, (_, customer_id, _) in lookup_owners(session, ours, now).items()
        }
    else:
        customer_ids = list(
            connection.execute(
                insert(CUSTOMER).returning(CUSTOMER.c.id, sort_by_parameter_order=True),
                [
                    {
                        "status": CustomerStatus.ACTIVE.value,
                        "consent": {},
                        "created_at": now,
                        "updated_at": now,
                        "last_seen_at": now,
                    }
                    for _ in items
                ],
            ).scalars()
        )
        ours = dict(zip(raws, customer_ids, strict=True))
        _insert_ignoring_duplicates(
            session,
            [
                {
                    "customer_id": customer_id,
                    "kind": raw[0],
                    "namespace": raw[1],
                    "lookup_key": raw[2],
                    "value": item.value,
                    "encrypted_value": item.encrypted_value,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for raw, customer_id, item in zip(raws, customer_ids, items, strict=True)
            ],
        )
        owners = {
            raw: int(row.customer_id) for raw, row in bulk_lookup(session, list(ours)).items()
        }
    resolved: dict[RawKey, tuple[int, bool]] = {}
    lost: list[int] = []
    for raw, mine in ours.items():
        owner = owners[raw]
        resolved[raw] = (owner, owner == mine)
        if owner != mine:
            lost.append(mine)
    if lost:
        connection.execute(delete(CUSTOMER).where(CUSTOMER.c.id.in_(lost)))
    return resolved
