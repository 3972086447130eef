"""Who holds which tag, in bulk, with history (docs/audiences.md, "Tags").

Three writers put tags on customers: staff by hand (``add_links`` / ``remove_links``),
channel codes on a scan (``add_links`` from ``campaigns.channel_codes.attribution``)
and rules at each refresh (``sync_tag_members``, also used by the RFM groups). Every
change writes a ``customer_tag_history`` row naming its source in the vocabulary of
``customer_tag.source``: ``staff:<username>``, ``channel_code:<code>``,
``rule:<tag id>``, ``rfm``, ``import:<file>``.

In an exclusive group a customer holds at most one tag: putting another tag of the
group on a customer takes the old one off (with a ``removed`` history row from the
same source). Within one call, the last link for a (customer, group) wins.

Concurrency: rows are inserted insert-or-nothing on (customer_id, tag_id), so two
writers adding the same tag both succeed; each writes history only for the pairs it
saw missing, so a race can at worst record one add twice, never lose a tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import pyarrow as pa
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from siyu.audiences.tags import bulk
from siyu.audiences.tags.bulk import IdArray
from siyu.core import bulk_insert
from siyu.core.db import dialect_insert
from siyu.models.audience import CustomerTagHistory, TagAction, TagGroup
from siyu.models.customer import CustomerTag, Tag, TagKind

_CUSTOMER_TAG = cast(Table, CustomerTag.__table__)
_HISTORY = cast(Table, CustomerTagHistory.__table__)


@dataclass(frozen=True)
class Link:
    customer_id: int
    tag_id: int
    source: str


def ensure_group(
    session: Session, name: str, *, is_exclusive: bool = False, description: str = ""
) -> TagGroup:
    """The group called ``name``, created with these settings if missing (an existing
    group keeps its own settings)."""
    session.execute(
        dialect_insert(session, TagGroup)
        .values(name=name, description=description, is_exclusive=is_exclusive, sort_order=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.scalars(select(TagGroup).where(TagGroup.name == name)).one()


def ensure_tag(
    session: Session,
    group_name: str,
    name: str,
    *,
    kind: str = TagKind.MANUAL,
    description: str = "",
) -> Tag:
    """The tag ``group_name``/``name``, created (with its group) if missing."""
    if group_name:
        ensure_group(session, group_name)
    session.execute(
        dialect_insert(session, Tag)
        .values(group_name=group_name, name=name, kind=str(kind), description=description)
        .on_conflict_do_nothing(index_elements=["group_name", "name"])
    )
    return session.scalars(select(Tag).where(Tag.group_name == group_name, Tag.name == name)).one()


def _exclusive_groups(session: Session, tag_ids: Iterable[int]) -> dict[int, str]:
    """tag id → group name, for the given tags that sit in an exclusive group."""
    rows = session.execute(
        select(Tag.id, Tag.group_name)
        .join(TagGroup, TagGroup.name == Tag.group_name)
        .where(Tag.id.in_(sorted(set(tag_ids))), TagGroup.is_exclusive.is_(True))
    )
    return {int(row.id): str(row.group_name) for row in rows}


def _write_history(
    session: Session, rows: list[tuple[int, int, str]], action: TagAction, now: datetime
) -> None:
    bulk_insert.insert_many(
        session,
        _HISTORY,
        ("customer_id", "tag_id", "source"),
        rows,
        constants={"action": action.value, "at": now},
    )


def _delete_pairs(session: Session, pairs: Sequence[tuple[int, int]]) -> None:
    by_tag: dict[int, list[int]] = {}
    for customer_id, tag_id in pairs:
        by_tag.setdefault(tag_id, []).append(customer_id)
    for tag_id, customers in by_tag.items():
        for chunk in bulk.chunks(np.asarray(sorted(customers), dtype=np.int64)):
            session.execute(
                delete(CustomerTag).where(
                    CustomerTag.tag_id == tag_id, CustomerTag.customer_id.in_(chunk)
                ),
                execution_options={"synchronize_session": False},
            )


def _adjust_counts(session: Session, deltas: dict[int, int]) -> None:
    # Relative updates: concurrent writers to one tag never overwrite each other's
    # counts; sync_tag_members re-anchors a tag's count exactly at each refresh.
    for tag_id, delta in sorted(deltas.items()):
        if delta:
            session.execute(
                update(Tag)
                .where(Tag.id == tag_id)
                .values(customer_count=Tag.customer_count + delta),
                execution_options={"synchronize_session": False},
            )
        _expire_tag(session, tag_id)


def _displace_exclusive(
    session: Session, new: dict[tuple[int, int], str], now: datetime, deltas: dict[int, int]
) -> None:
    """Take off the other tags of an exclusive group from customers getting one of it."""
    groups = _exclusive_groups(session, {tag for _c, tag in new})
    if not groups:
        return
    incoming: dict[tuple[int, str], tuple[int, str]] = {
        (customer, groups[tag]): (tag, source)
        for (customer, tag), source in new.items()
        if tag in groups
    }
    customers = np.unique(np.asarray([c for c, _g in incoming], dtype=np.int64))
    displaced: list[tuple[int, int, str]] = []
    for chunk in bulk.chunks(customers):
        held = session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag_id, Tag.group_name)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(
                CustomerTag.customer_id.in_(chunk),
                Tag.group_name.in_(sorted(set(groups.values()))),
            )
        )
        for row in held:
            arriving = incoming.get((int(row.customer_id), str(row.group_name)))
            if arriving is not None and arriving[0] != row.tag_id:
                displaced.append((int(row.customer_id), int(row.tag_id), arriving[1]))
    _delete_pairs(session, [(c, t) for c, t, _s in displaced])
    _write_history(session, displaced, TagAction.REMOVED, now)
    for _c, tag, _s in displaced:
        deltas[tag] = deltas.get(tag, 0) - 1


def add_links(session: Session, links: Iterable[Link], *, now: datetime) -> int:
    """Put tags on customers (insert-or-nothing) and record the new ones; returns how
    many links were new. A customer keeps the source and time of a tag it already has."""
    wanted: dict[tuple[int, int], str] = {}
    for link in links:
        wanted.setdefault((link.customer_id, link.tag_id), link.source)
    if not wanted:
        return 0
    groups = _exclusive_groups(session, {tag for _c, tag in wanted})
    if groups:
        # One tag per (customer, exclusive group) within the call: the last one wins.
        last: dict[tuple[int, str], tuple[int, int]] = {}
        for customer, tag in wanted:
            if tag in groups:
                last[(customer, groups[tag])] = (customer, tag)
        keep = set(last.values())
        wanted = {key: s for key, s in wanted.items() if key[1] not in groups or key in keep}
    existing: set[tuple[int, int]] = set()
    tag_ids = sorted({tag for _c, tag in wanted})
    customers = np.unique(np.asarray([c for c, _t in wanted], dtype=np.int64))
    for chunk in bulk.chunks(customers):
        existing.update(
            (int(row.customer_id), int(row.tag_id))
            for row in session.execute(
                select(CustomerTag.customer_id, CustomerTag.tag_id).where(
                    CustomerTag.customer_id.in_(chunk), CustomerTag.tag_id.in_(tag_ids)
                )
            )
        )
    new = {key: source for key, source in sorted(wanted.items()) if key not in existing}
    return _insert_new(session, new, now)


def _insert_new(session: Session, new: dict[tuple[int, int], str], now: datetime) -> int:
    """Insert links known to be missing, displacing exclusive-group siblings."""
    if not new:
        return 0
    deltas: dict[int, int] = {}
    _displace_exclusive(session, new, now, deltas)
    items = list(new.items())
    bulk_insert.insert_many(
        session,
        _CUSTOMER_TAG,
        ("customer_id", "tag_id", "source"),
        ((c, t, s) for (c, t), s in items),
        constants={"added_at": now},
        conflict=("customer_id", "tag_id"),
    )
    _write_history(session, [(c, t, s) for (c, t), s in items], TagAction.ADDED, now)
    for _c, tag in new:
        deltas[tag] = deltas.get(tag, 0) + 1
    _adjust_counts(session, deltas)
    return len(new)


def remove_links(
    session: Session, tag_id: int, customer_ids: Iterable[int], *, source: str, now: datetime
) -> int:
    """Take ``tag_id`` off the customers holding it; returns how many lost it."""
    ids = bulk.to_ids(list(customer_ids))
    held: list[int] = []
    for chunk in bulk.chunks(ids):
        held.extend(
            session.scalars(
                select(CustomerTag.customer_id).where(
                    CustomerTag.tag_id == tag_id, CustomerTag.customer_id.in_(chunk)
                )
            )
        )
    if not held:
        return 0
    _delete_pairs(session, [(int(c), tag_id) for c in held])
    _write_history(session, [(int(c), tag_id, source) for c in held], TagAction.REMOVED, now)
    _adjust_counts(session, {tag_id: -len(held)})
    return len(held)


def _current_holders(session: Session, tag_id: int, restrict: IdArray | None) -> IdArray:
    return bulk.stored_ids(session, CustomerTag.customer_id, CustomerTag.tag_id == tag_id, restrict)


def sync_tag_members(
    session: Session,
    tag_id: int,
    customer_ids: pa.Array | pa.ChunkedArray | Sequence[int],
    *,
    source: str,
    now: datetime,
    restrict_to: pa.Array | None = None,
) -> tuple[int, int]:
    """Make the tag's holders exactly ``customer_ids`` (only among ``restrict_to`` when
    given: holders outside it are left alone); returns (added, removed).

    The diff runs on sorted numpy arrays; the writes are chunked executemany INSERTs
    and IN-list DELETEs, with one history row per change.
    """
    restrict = None if restrict_to is None else bulk.to_ids(restrict_to)
    target = bulk.within(bulk.to_ids(customer_ids), restrict)
    current = _current_holders(session, tag_id, restrict)
    to_add, to_remove = bulk.diff(target, current)
    to_add = bulk.active_only(session, to_add)
    removed = 0
    if len(to_remove):
        _delete_pairs(session, [(int(c), tag_id) for c in to_remove])
        _write_history(
            session, [(int(c), tag_id, source) for c in to_remove], TagAction.REMOVED, now
        )
        removed = len(to_remove)
    added = _insert_new(session, {(int(c), tag_id): source for c in to_add}, now)
    # Exact count, re-anchoring the relative updates of manual and channel-code writes.
    session.execute(
        update(Tag)
        .where(Tag.id == tag_id)
        .values(
            customer_count=select(func.count())
            .select_from(CustomerTag)
            .where(CustomerTag.tag_id == tag_id)
            .scalar_subquery(),
            refreshed_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    _expire_tag(session, tag_id)
    return added, removed


def _expire_tag(session: Session, tag_id: int) -> None:
    # The updates above bypass the ORM; a loaded Tag must reload its count.
    instance: Any = session.identity_map.get(identity_key(Tag, tag_id))
    if instance is not None:
        session.expire(instance)


def holders(session: Session, tag_id: int) -> IdArray:
    return bulk.read_ids(
        session, select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag_id)
    )
