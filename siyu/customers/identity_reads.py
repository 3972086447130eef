"""Reads and locks of the identify path (Core statements, built once per shape).

See ``siyu.customers.identify`` for the rules; this module only knows how to find the
owners of identity keys quickly and how to hold them on PostgreSQL.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, text
from sqlalchemy.orm import Session

from siyu.customers.identity_batch import CUSTOMER as _CUSTOMER
from siyu.customers.identity_batch import IDENTITY as _IDENTITY
from siyu.customers.kinds import IdentityKey
from siyu.models.customer import Customer, CustomerStatus


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def advisory_lock_id(key: IdentityKey) -> int:
    digest = hashlib.blake2b(
        f"{key.kind}\x00{key.namespace}\x00{key.lookup_key}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(session: Session, keys: Iterable[IdentityKey]) -> None:
    """PostgreSQL: serialise calls that share an identity key (sorted: no deadlock)."""
    if not is_postgres(session):
        return
    for lock_id in sorted({advisory_lock_id(key) for key in keys}):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


class Retry(Exception):
    """An owner changed (merged) between our read and our row lock: read again."""


@functools.lru_cache(maxsize=64)
def _owner_statement(count: int) -> Any:
    """Built once per number of keys so SQLAlchemy's compiled cache is hit every time.

    An OR of (kind, namespace, lookup_key) equalities: SQLite answers it with one
    index search per key ("MULTI-INDEX OR"), where a row-value IN scans the index.
    """
    clauses = [
        and_(
            _IDENTITY.c.kind == bindparam(f"k{index}"),
            _IDENTITY.c.namespace == bindparam(f"n{index}"),
            _IDENTITY.c.lookup_key == bindparam(f"l{index}"),
        )
        for index in range(count)
    ]
    return (
        select(
            _IDENTITY.c.id,
            _IDENTITY.c.customer_id,
            _IDENTITY.c.kind,
            _IDENTITY.c.namespace,
            _IDENTITY.c.lookup_key,
            _IDENTITY.c.last_seen_at,
            _CUSTOMER.c.status,
            _CUSTOMER.c.created_at,
            _CUSTOMER.c.last_seen_at.label("customer_last_seen_at"),
        )
        .join(_CUSTOMER, _CUSTOMER.c.id == _IDENTITY.c.customer_id)
        .where(or_(*clauses))
    )


def owners(session: Session, keys: list[IdentityKey]) -> list[Any]:
    parameters: dict[str, str] = {}
    for index, key in enumerate(keys):
        parameters[f"k{index}"] = key.kind.value
        parameters[f"n{index}"] = key.namespace
        parameters[f"l{index}"] = key.lookup_key
    return list(session.connection().execute(_owner_statement(len(keys)), parameters))


def lock_customers(session: Session, customer_ids: set[int]) -> None:
    """PostgreSQL: hold the owners' rows; a concurrent merge makes us read again."""
    if not customer_ids or not is_postgres(session):
        return
    statement = (
        select(Customer.id, Customer.status)
        .where(Customer.id.in_(customer_ids))
        .order_by(Customer.id)
        .with_for_update()
    )
    if any(row.status != CustomerStatus.ACTIVE for row in session.execute(statement)):
        raise Retry()
