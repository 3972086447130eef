"""Identify: resolve a set of identifiers (and traits) to exactly one customer.

Rules (docs/customers.md, "Identity"):

* Strong identifiers that belong to different live customers merge them into the
  oldest (lowest ``created_at``, then id).
* A weak identifier (anonymous_id) merges its owner into the result only when that
  owner has no strong identity of its own; otherwise (a shared device) it is left
  where it is.
* A single-valued kind may hold one value per namespace on a customer: anything else
  is a conflict (409, and a row recorded for an operator), never a merge.
* All or nothing per call: identify runs in a savepoint.

Concurrency: on PostgreSQL each call takes transaction-scoped advisory locks on its
identity keys (sorted, so two calls never wait on each other in a cycle) before
reading, then locks the owning customer rows. SQLite transactions already hold the
single write lock (``BEGIN IMMEDIATE``). The unique index on (kind, namespace,
lookup_key) is the backstop: an IntegrityError retries the whole call.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.customers import conflicts, identity_batch, identity_reads
from siyu.customers.errors import (
    CustomerErased,
    CustomerNotFound,
    IdentifyContention,
    NoIdentities,
)
from siyu.customers.identity_batch import CUSTOMER as _CUSTOMER
from siyu.customers.identity_batch import IDENTITY as _IDENTITY
from siyu.customers.identity_reads import lock_keys
from siyu.customers.identity_traits import Traits, apply_traits, validate_traits
from siyu.customers.kinds import (
    STRONG_KINDS,
    IdentityKey,
    NormalisedIdentity,
    normalise,
)
from siyu.customers.merge import merge_customers, resolve_customer_id
from siyu.models.customer import (
    Customer,
    CustomerIdentity,
    CustomerStaffLink,
    CustomerStatus,
)
from siyu.staff import audit
from siyu.staff.principal import Principal
from siyu.staff.scope import ScopeKind, scope_for, scoped

# last_seen_at is a coarse activity signal: writing it on every call would turn every
# read-only identify into a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class IdentityInput:
    kind: str
    value: str
    namespace: str | None = None


@dataclass(frozen=True)
class Resolution:
    customer_id: int
    created: bool


@dataclass(frozen=True)
class IdentifyResult:
    customer_id: int
    created: bool
    merged_customer_ids: list[int] = field(default_factory=list)


def validate_identities(
    cipher: PiiCipher, inputs: Iterable[IdentityInput]
) -> list[NormalisedIdentity]:
    """Normalise every input; raises the first kinds.py error (unknown kind, bad value)."""
    return [_normalise(cipher, item) for item in inputs]


@functools.lru_cache(maxsize=65_536)
def _normalise(cipher: PiiCipher, item: IdentityInput) -> NormalisedIdentity:
    """Cached: on the ingest path the same visitors' identities arrive again and again,
    and normalising (enum lookup, HMAC and AES for phones) costs more than the lookup.
    The result is a pure function of the input and the key (a reused phone ciphertext
    reveals nothing its deterministic lookup hash does not). Errors are not cached."""
    return normalise(cipher, item.kind, item.value, item.namespace)


@functools.lru_cache(maxsize=65_536)
def _normalise_raw(
    cipher: PiiCipher, item: IdentityInput
) -> tuple[NormalisedIdentity, tuple[str, str, str]]:
    normalised = _normalise(cipher, item)
    return normalised, _raw(normalised.key)


def _dedupe(items: Iterable[NormalisedIdentity]) -> list[NormalisedIdentity]:
    seen: dict[IdentityKey, NormalisedIdentity] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())


def _key_of(row: Any) -> tuple[str, str, str]:
    return (row.kind, row.namespace, row.lookup_key)


def _raw(key: IdentityKey) -> tuple[str, str, str]:
    return (key.kind.value, key.namespace, key.lookup_key)


def _oldest(candidates: set[int], created: dict[int, datetime]) -> int:
    return min(candidates, key=lambda customer_id: (created[customer_id], customer_id))


@dataclass
class _Plan:
    """What one identify call will do, decided from reads alone."""

    target: int | None
    victims: list[int]
    new_items: list[NormalisedIdentity]
    stale_identity_ids: list[int]
    touch_customer: bool


def _plan(
    session: Session, cipher: PiiCipher, items: list[NormalisedIdentity], source: str
) -> _Plan:
    now = clock.now()
    rows = identity_reads.owners(session, [item.key for item in items])
    owner_of: dict[tuple[str, str, str], int] = {}
    created_at: dict[int, datetime] = {}
    for row in rows:
        if row.status == CustomerStatus.ERASED:
            raise CustomerErased(data={"kind": row.kind})
        if row.status != CustomerStatus.ACTIVE:
            # Identities always follow a merge: an owner found merged means a race.
            raise identity_reads.Retry()
        owner_of[_key_of(row)] = row.customer_id
        created_at[row.customer_id] = row.created_at
    strong_owners = {
        owner_of[_raw(i.key)] for i in items if i.key.is_strong and _raw(i.key) in owner_of
    }
    weak_owners = {
        owner_of[_raw(i.key)] for i in items if not i.key.is_strong and _raw(i.key) in owner_of
    } - strong_owners
    shared: set[int] = set()
    if weak_owners:
        shared = set(
            session.scalars(
                select(CustomerIdentity.customer_id)
                .where(
                    CustomerIdentity.customer_id.in_(weak_owners),
                    CustomerIdentity.kind.in_([kind.value for kind in STRONG_KINDS]),
                )
                .distinct()
            )
        )
    weak_only = weak_owners - shared
    target: int | None = None
    if strong_owners:
        target = _oldest(strong_owners, created_at)
    elif weak_only:
        # Anonymous history: the oldest anonymous-only customer becomes the person.
        target = _oldest(weak_only, created_at)
    elif shared and not any(item.key.is_strong for item in items):
        # Only weak identifiers, all on customers with strong ones: a plain lookup.
        target = _oldest(shared, created_at)
    victims = (strong_owners | weak_only) - {target} if target is not None else set()
    new_items = [item for item in items if _raw(item.key) not in owner_of]
    involved = {target} | victims if target is not None else set()
    identity_reads.lock_customers(session, involved)
    conflicts.check_single_valued(session, cipher, involved, new_items, source)
    horizon = now - LAST_SEEN_RESOLUTION
    seen = [row.customer_last_seen_at for row in rows if row.customer_id == target]
    return _Plan(
        target=target,
        victims=sorted(victims, key=lambda customer_id: (created_at[customer_id], customer_id)),
        new_items=new_items,
        stale_identity_ids=[row.id for row in rows if row.last_seen_at < horizon],
        touch_customer=any(moment is None or moment < horizon for moment in seen),
    )


def _is_read_only(plan: _Plan, traits: Traits | None) -> bool:
    return (
        plan.target is not None
        and not plan.victims
        and not plan.new_items
        and not plan.stale_identity_ids
        and not plan.touch_customer
        and (traits is None or not traits.given)
    )


def _write(
    session: Session,
    actor: Principal | None,
    plan: _Plan,
    traits: Traits | None,
    source: str,
) -> IdentifyResult:
    now = clock.now()
    connection = session.connection()
    target = plan.target
    created = target is None
    if target is None:
        target = int(
            connection.execute(
                insert(_CUSTOMER).returning(_CUSTOMER.c.id),
                {
                    "status": CustomerStatus.ACTIVE.value,
                    "consent": {},
                    "created_at": now,
                    "updated_at": now,
                    "last_seen_at": now,
                },
            ).scalar_one()
        )
    actor_name = actor.username if actor is not None else f"system:{source}"[:64]
    for victim in plan.victims:
        record = merge_customers(session, actor_name, target, victim, f"identify:{source}")
        if actor is not None:
            audit.record(
                session,
                actor,
                "customer.merge",
                target_type="customer",
                target_id=target,
                detail={"merged_id": victim, "reason": record.reason, "moved": record.moved},
            )
    if plan.new_items:
        connection.execute(
            insert(_IDENTITY),
            [
                {
                    "customer_id": target,
                    "kind": item.key.kind.value,
                    "namespace": item.key.namespace,
                    "lookup_key": item.key.lookup_key,
                    "value": item.value,
                    "encrypted_value": item.encrypted_value,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for item in plan.new_items
            ],
        )
    if plan.stale_identity_ids:
        connection.execute(
            update(_IDENTITY)
            .where(_IDENTITY.c.id.in_(plan.stale_identity_ids))
            .values(last_seen_at=now)
        )
    if traits is not None and traits.given:
        customer = session.get(Customer, target)
        assert customer is not None
        apply_traits(customer, traits)
        customer.last_seen_at = now
        session.flush()
    elif not created and (plan.touch_customer or plan.victims):
        connection.execute(
            update(_CUSTOMER).where(_CUSTOMER.c.id == target).values(last_seen_at=now)
        )
    return IdentifyResult(customer_id=target, created=created, merged_customer_ids=plan.victims)


def _identify_once(
    session: Session,
    cipher: PiiCipher,
    actor: Principal | None,
    items: list[NormalisedIdentity],
    traits: Traits | None,
    source: str,
) -> IdentifyResult:
    if identity_reads.is_postgres(session):
        # Row locks taken while planning must go away with a failed attempt (a broken
        # deadlock aborts the statement): plan and write in one savepoint.
        with session.begin_nested():
            plan = _plan(session, cipher, items, source)
            if _is_read_only(plan, traits):
                assert plan.target is not None
                return IdentifyResult(customer_id=plan.target, created=False)
            return _write(session, actor, plan, traits, source)
    plan = _plan(session, cipher, items, source)
    if _is_read_only(plan, traits):
        # The common case (a known customer seen again within the minute) writes nothing,
        # so it needs no savepoint.
        assert plan.target is not None
        return IdentifyResult(customer_id=plan.target, created=False)
    # All or nothing: a failure while writing leaves the caller's transaction as it was.
    with session.begin_nested():
        return _write(session, actor, plan, traits, source)


def identify(
    session: Session,
    cipher: PiiCipher,
    actor: Principal | None,
    identities: Sequence[IdentityInput],
    traits: Traits | None,
    *,
    source: str,
) -> IdentifyResult:
    """Resolve ``identities`` to one customer, creating, linking or merging as needed."""
    if not identities:
        raise NoIdentities()
    items = _dedupe(validate_identities(cipher, identities))
    if traits is not None:
        validate_traits(traits)
    identity_reads.lock_keys(session, [item.key for item in items])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            result = _identify_once(session, cipher, actor, items, traits, source)
        except (IntegrityError, identity_reads.Retry, OperationalError) as error:
            # A racing writer inserted one of our keys, merged an owner, or (PostgreSQL)
            # a deadlock between row locks was broken: the savepoint is gone, read again.
            if isinstance(error, OperationalError) and "deadlock" not in str(error).lower():
                raise
            if attempt == MAX_ATTEMPTS:
                # Still racing after every retry: the client should simply try again.
                raise IdentifyContention() from error
            continue
        if actor is not None:
            _keep_in_caller_scope(session, actor, result.customer_id, result.created)
        return result
    raise AssertionError("unreachable")


def _keep_in_caller_scope(
    session: Session, principal: Principal, customer_id: int, created: bool
) -> None:
    """Guides and store managers identify within their own book of customers.

    A customer they create is assigned to them (guide) or their store; resolving to a
    customer outside their scope fails as not found, and the whole call rolls back.
    Brand-wide staff and integration callers are not restricted.
    """
    scope = scope_for(principal)
    if scope.kind not in (ScopeKind.OWN, ScopeKind.STORE):
        return
    if created:
        values = (
            {"guide_id": scope.staff_id, "store_id": scope.store_id}
            if scope.kind is ScopeKind.OWN
            else {"store_id": scope.store_id}
        )
        session.execute(
            update(Customer).where(Customer.id == customer_id).values(values),
            execution_options={"synchronize_session": False},
        )
        return
    visible = session.scalar(
        scoped(select(Customer.id), Customer, principal).where(Customer.id == customer_id)
    )
    if visible is None:
        raise CustomerNotFound()


def link_staff(
    session: Session,
    customer_id: int,
    staff_id: int,
    *,
    corp_id: str,
    external_userid: str | None,
    state: str | None,
    added_at: datetime,
) -> CustomerStaffLink:
    """Record that ``staff_id`` added the customer on WeCom (idempotent).

    A repeat keeps the earliest ``added_at`` (and its state) and clears ``removed_at``
    when the contact was added back.
    """
    # Insert-or-nothing first: two WeCom add callbacks for the same pair may race, and a
    # read-then-insert would let the loser fail on the (customer_id, staff_id) key.
    dialect = session.get_bind().dialect.name
    insert_for = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert_for(CustomerStaffLink)
        .values(
            customer_id=customer_id,
            staff_id=staff_id,
            corp_id=corp_id,
            external_userid=external_userid,
            state=state[:30] if state else None,
            added_at=added_at,
        )
        .on_conflict_do_nothing(index_elements=["customer_id", "staff_id"])
    )
    pair = (CustomerStaffLink.customer_id == customer_id, CustomerStaffLink.staff_id == staff_id)
    # Conditional updates, not read-modify-write: under concurrent adds the earliest
    # added_at must win whichever transaction commits last.
    session.execute(
        update(CustomerStaffLink)
        .where(*pair, CustomerStaffLink.added_at > added_at)
        .values(
            added_at=added_at,
            state=func.coalesce(state[:30] if state else None, CustomerStaffLink.state),
        ),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(CustomerStaffLink)
        .where(*pair)
        .values(
            external_userid=func.coalesce(external_userid, CustomerStaffLink.external_userid),
            corp_id=corp_id or CustomerStaffLink.corp_id,
            removed_at=None,
        ),
        execution_options={"synchronize_session": False},
    )
    link = session.scalars(
        select(CustomerStaffLink).where(*pair).execution_options(populate_existing=True)
    ).one()
    session.flush()
    return link


def resolve_batch(
    session: Session,
    cipher: PiiCipher,
    identity_sets: Sequence[Sequence[IdentityInput]],
    *,
    source: str,
) -> list[Resolution]:
    """``identify`` for many sets at once, without traits, in input order.

    Sets with several identities go through ``identify`` one by one (first, so that
    their merges are visible to the single-identity sets). Single-identity sets are
    looked up with one SELECT; unknown keys get customers in bulk. A key seen twice
    in the batch is created once: only its first set reports ``created=True``.
    Invalid identities raise the kinds.py errors (use ``validate_identities`` first).
    """
    results: list[Resolution | None] = [None] * len(identity_sets)
    # Single-identity sets: the first index per key, and later repeats of a key. (Not
    # a list of indexes per key: that was one more list per event for ~1 repeat.)
    first: dict[tuple[str, str, str], int] = {}
    repeats: list[tuple[int, tuple[str, str, str]]] = []
    items: dict[tuple[str, str, str], NormalisedIdentity] = {}
    normalise_raw = _normalise_raw
    for index, identity_set in enumerate(identity_sets):
        if len(identity_set) != 1:
            full = identify(session, cipher, None, identity_set, None, source=source)
            results[index] = Resolution(full.customer_id, full.created)
            continue
        normalised, raw = normalise_raw(cipher, identity_set[0])
        if raw in first:
            repeats.append((index, raw))
        else:
            first[raw] = index
            items[raw] = normalised
    if first:
        now = clock.now()
        horizon = now - LAST_SEEN_RESOLUTION
        found = identity_batch.lookup_owners(session, first, horizon)
        missing = [items[raw] for raw in first if raw not in found]
        created = identity_batch.bulk_create(session, missing, now) if missing else {}
        identity_batch.touch(
            session, [identity_id for identity_id, _, stale in found.values() if stale], now
        )
        owners: dict[tuple[str, str, str], int] = {}
        for raw, index in first.items():
            hit = found.get(raw)
            owner, is_new = (hit[1], False) if hit is not None else created[raw]
            owners[raw] = owner
            results[index] = Resolution(owner, is_new)
        # A key seen again in the batch was created (if at all) by its first set.
        for index, raw in repeats:
            results[index] = Resolution(owners[raw], False)
    return [result for result in results if result is not None]


__all__ = [
    "IdentifyResult",
    "IdentityInput",
    "Resolution",
    "Traits",
    "identify",
    "link_staff",
    "lock_keys",
    "resolve_batch",
    "resolve_customer_id",
    "validate_identities",
    "validate_traits",
]
