"""Bulk identity lookups and creation for ``identify.resolve_batch`` (event ingest).

Core statements on the session's connection, built once per shape so SQLAlchemy's
compiled cache is hit: on the ingest path a batch of 1,000 single-identity sets
must cost a few milliseconds, not the ORM's per-row bookkeeping.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
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


def bulk_create(
    session: Session, items: list[NormalisedIdentity], now: datetime
) -> dict[RawKey, tuple[int, bool]]:
    """A new customer per unknown key: ``{raw key: (customer_id, created)}``.

    Identities go in with ON CONFLICT DO NOTHING and are read back, so a racing
    caller that inserted a key first wins; our customer for that key is deleted again.
    """
    connection = session.connection()
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
    ours = dict(zip((raw_key(item.key) for item in items), customer_ids, strict=True))
    _insert_ignoring_duplicates(
        session,
        [
            {
                "customer_id": ours[raw_key(item.key)],
                "kind": item.key.kind.value,
                "namespace": item.key.namespace,
                "lookup_key": item.key.lookup_key,
                "value": item.value,
                "encrypted_value": item.encrypted_value,
                "created_at": now,
                "last_seen_at": now,
            }
            for item in items
        ],
    )
    winners = bulk_lookup(session, list(ours))
    resolved: dict[RawKey, tuple[int, bool]] = {}
    lost: list[int] = []
    for raw, mine in ours.items():
        owner = int(winners[raw].customer_id)
        resolved[raw] = (owner, owner == mine)
        if owner != mine:
            lost.append(mine)
    if lost:
        connection.execute(delete(CUSTOMER).where(CUSTOMER.c.id.in_(lost)))
    return resolved
