"""Merging two customers: the survivor keeps its id, everything else is re-pointed.

Re-pointing is synchronous, in the caller's transaction, for the tables the
foundation owns. Other domains either register a synchronous re-pointer here
(``register_repointer``) or handle the ``customer.merged`` domain event (emitted in
the same transaction) to re-point their own tables later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.customers.errors import CustomerNotFound, InvalidMerge
from siyu.models.channel_code import ChannelCodeVisit
from siyu.models.customer import (
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerSession,
    CustomerStaffLink,
    CustomerStatus,
    CustomerTag,
)
from siyu.models.tracking import TrackedEvent

# fn(session, survivor_id, merged_id) -> rows moved.
Repointer = Callable[[Session, int, int], int]
_repointers: dict[str, Repointer] = {}

PROFILE_FIELDS = ("name", "gender", "birthday", "city")
MERGED_EVENT = "customer.merged"


def register_repointer(table_name: str, fn: Repointer) -> None:
    """Add a synchronous re-pointer run inside every merge (one per table)."""
    if table_name in _repointers:
        raise ValueError(f"a re-pointer for {table_name!r} is already registered")
    _repointers[table_name] = fn


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def _simple_update(model: Any, column: Any) -> Repointer:
    def repoint(session: Session, survivor_id: int, merged_id: int) -> int:
        statement = update(model).where(column == merged_id).values({column.key: survivor_id})
        return _rowcount(
            session.execute(statement, execution_options={"synchronize_session": False})
        )

    return repoint


def _repoint_staff_links(session: Session, survivor_id: int, merged_id: int) -> int:
    """One relation per (customer, staff): keep the earliest-added of the two."""
    survivor_links = {
        link.staff_id: link
        for link in session.scalars(
            select(CustomerStaffLink).where(CustomerStaffLink.customer_id == survivor_id)
        )
    }
    moved = 0
    merged_links = session.scalars(
        select(CustomerStaffLink).where(CustomerStaffLink.customer_id == merged_id)
    ).all()
    for link in merged_links:
        existing = survivor_links.get(link.staff_id)
        if existing is not None and existing.added_at <= link.added_at:
            session.delete(link)
            continue
        if existing is not None:
            session.delete(existing)
            session.flush()
        link.customer_id = survivor_id
        moved += 1
    session.flush()
    return moved


def _repoint_tags(session: Session, survivor_id: int, merged_id: int) -> int:
    survivor_tags = select(CustomerTag.tag_id).where(CustomerTag.customer_id == survivor_id)
    session.execute(
        delete(CustomerTag).where(
            CustomerTag.customer_id == merged_id, CustomerTag.tag_id.in_(survivor_tags)
        ),
        execution_options={"synchronize_session": False},
    )
    return _simple_update(CustomerTag, CustomerTag.customer_id)(session, survivor_id, merged_id)


_BUILTIN: dict[str, Repointer] = {
    "customer_identity": _simple_update(CustomerIdentity, CustomerIdentity.customer_id),
    "customer_staff_link": _repoint_staff_links,
    "customer_tag": _repoint_tags,
    "tracked_event": _simple_update(TrackedEvent, TrackedEvent.customer_id),
    "channel_code_visit": _simple_update(ChannelCodeVisit, ChannelCodeVisit.customer_id),
    "customer_session": _simple_update(CustomerSession, CustomerSession.customer_id),
    # Customers merged into the merged one earlier: chains stay one hop long.
    "customer.merged_into": _simple_update(Customer, Customer.merged_into_id),
}


def repoint_late_writes(session: Session, survivor_id: int, merged_id: int) -> int:
    """Re-run the append-only re-pointers (events, visits) for rows written by callers
    that resolved the merged id just before the merge committed."""
    return sum(
        _BUILTIN[name](session, survivor_id, merged_id)
        for name in ("tracked_event", "channel_code_visit", "customer_session")
    )


def _merge_profile(survivor: Customer, merged: Customer) -> None:
    for name in PROFILE_FIELDS:
        if getattr(survivor, name) is None and getattr(merged, name) is not None:
            setattr(survivor, name, getattr(merged, name))
    # Survivor's consent wins; purposes only the merged customer answered are kept.
    survivor.consent = {**(merged.consent or {}), **(survivor.consent or {})}
    if merged.first_touch_at is not None and (
        survivor.first_touch_at is None or merged.first_touch_at < survivor.first_touch_at
    ):
        survivor.first_touch_at = merged.first_touch_at
        survivor.first_touchpoint = merged.first_touchpoint
        survivor.first_touch_channel_code_id = merged.first_touch_channel_code_id
    if merged.last_touch_at is not None and (
        survivor.last_touch_at is None or merged.last_touch_at > survivor.last_touch_at
    ):
        survivor.last_touch_at = merged.last_touch_at
        survivor.last_touchpoint = merged.last_touchpoint
        survivor.last_touch_channel_code_id = merged.last_touch_channel_code_id
    if merged.last_seen_at is not None and (
        survivor.last_seen_at is None or merged.last_seen_at > survivor.last_seen_at
    ):
        survivor.last_seen_at = merged.last_seen_at
    # The relationship owner and the store stay the survivor's unless it has none.
    if survivor.guide_id is None:
        survivor.guide_id = merged.guide_id
    if survivor.store_id is None:
        survivor.store_id = merged.store_id


def merge_customers(
    session: Session, actor_name: str, survivor_id: int, merged_id: int, reason: str
) -> CustomerMerge:
    """Merge ``merged_id`` into ``survivor_id`` in the caller's transaction.

    The caller checks identity conflicts first (``identify`` does; so does the
    operator merge in the console) — this function only moves rows.
    """
    if survivor_id == merged_id:
        raise InvalidMerge("A customer cannot be merged into itself.")
    survivor = session.get(Customer, survivor_id, with_for_update=True)
    merged = session.get(Customer, merged_id, with_for_update=True)
    if survivor is None or merged is None:
        raise CustomerNotFound(data={"customer_ids": [survivor_id, merged_id]})
    for customer in (survivor, merged):
        if customer.status != CustomerStatus.ACTIVE:
            raise InvalidMerge(
                "Only active customers can be merged.",
                data={"customer_id": customer.id, "status": customer.status},
            )
    session.flush()
    moved: dict[str, int] = {}
    for table_name, repoint in (_BUILTIN | _repointers).items():
        count = repoint(session, survivor_id, merged_id)
        if count:
            moved[table_name] = count
    _merge_profile(survivor, merged)
    merged.status = CustomerStatus.MERGED
    merged.merged_into_id = survivor_id
    record = CustomerMerge(
        survivor_id=survivor_id,
        merged_id=merged_id,
        actor=actor_name[:64],
        reason=reason[:200],
        moved=moved,
        created_at=clock.now(),
    )
    session.add(record)
    session.flush()
    # The session may hold stale objects whose customer_id was changed by Core updates.
    session.expire_all()
    outbox.emit(session, MERGED_EVENT, {"survivor_id": survivor_id, "merged_id": merged_id})
    return record


def resolve_customer_id(session: Session, customer_id: int) -> int | None:
    """The live id for ``customer_id``: merged ids resolve to their survivor; erased
    customers resolve to themselves; unknown ids to None."""
    row = session.execute(
        select(Customer.status, Customer.merged_into_id).where(Customer.id == customer_id)
    ).first()
    if row is None:
        return None
    if row.status == CustomerStatus.MERGED and row.merged_into_id is not None:
        return int(row.merged_into_id)
    return customer_id


@outbox.handler(MERGED_EVENT, name="customers.repoint_late_writes")
def _sweep_late_writes(session: Session, event: outbox.DomainEvent) -> None:
    """Catch events and visits written for the merged id by a caller that resolved it
    just before the merge committed (the batch ingest path takes no row locks)."""
    repoint_late_writes(session, int(event.payload["survivor_id"]), int(event.payload["merged_id"]))
