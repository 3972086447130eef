"""Attribution: what a visit or a WeCom add carrying a channel code does to a customer.

Used by event tracking (``ch=`` / ``context.channel_code``), by the WeCom add
endpoint and, later, by the WeCom callback. Everything is batch-shaped: a tracking
batch may carry hundreds of touches, so each rule is one executemany statement, not
one round trip per touch.

Concurrency (DESIGN.md convention 5): every customer change is a conditional UPDATE
("... WHERE first_touch_at IS NULL"), never read-then-write, so two requests touching
the same new customer end with exactly one first touch. Rows are updated in customer
id order so concurrent batches take row locks in the same order and cannot deadlock.
Tags and staff links are insert-or-nothing on their unique keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.audiences.tags import service as tag_service
from siyu.core import clock
from siyu.customers import identify
from siyu.models.channel_code import ChannelCode, ChannelCodeVisit
from siyu.models.customer import Customer, Tag, TagKind

# Tags named without a group ("VIP") land in this group; "group:name" picks another.
DEFAULT_TAG_GROUP = "渠道"


class VisitHow:
    SCAN = "scan"
    VISIT = "visit"
    WECOM_ADD = "wecom_add"


@dataclass(frozen=True)
class ChannelCodeRef:
    id: int
    code: str
    is_active: bool
    guide_id: int | None
    store_id: int | None
    tag_names: tuple[str, ...]


@dataclass(frozen=True)
class Touch:
    customer_id: int
    channel_code_id: int
    touchpoint: str | None
    how: str
    at: datetime
    is_new_customer: bool


def _ref(row: Any) -> ChannelCodeRef:
    return ChannelCodeRef(
        id=row.id,
        code=row.code,
        is_active=row.is_active,
        guide_id=row.guide_id,
        store_id=row.store_id,
        tag_names=tuple(row.tag_names or ()),
    )


_REF_COLUMNS = (
    ChannelCode.id,
    ChannelCode.code,
    ChannelCode.is_active,
    ChannelCode.guide_id,
    ChannelCode.store_id,
    ChannelCode.tag_names,
)


def lookup_codes(session: Session, codes: Iterable[str]) -> dict[str, ChannelCodeRef]:
    """The known codes among ``codes`` (active or not), in one query."""
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    rows = session.execute(select(*_REF_COLUMNS).where(ChannelCode.code.in_(wanted)))
    return {row.code: _ref(row) for row in rows}


def _refs_by_id(session: Session, ids: Iterable[int]) -> dict[int, ChannelCodeRef]:
    rows = session.execute(select(*_REF_COLUMNS).where(ChannelCode.id.in_(set(ids))))
    return {row.id: _ref(row) for row in rows}


def split_tag_name(entry: str) -> tuple[str, str]:
    """``"group:name"`` → (group, name); a bare name goes to the channel group."""
    group, separator, name = entry.partition(":")
    if separator and group.strip() and name.strip():
        return group.strip(), name.strip()
    return DEFAULT_TAG_GROUP, entry.strip()


def _dialect_insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _execute_many(session: Session, statement: Update, rows: list[dict[str, Any]]) -> None:
    if rows:
        # Sorted by customer id: row locks are always taken in primary-key order.
        rows.sort(key=lambda row: row["p_customer"])
        session.connection().execute(statement, rows)


_CUSTOMER = cast(Table, Customer.__table__)
_VISIT = cast(Table, ChannelCodeVisit.__table__)
_IS_CUSTOMER = _CUSTOMER.c.id == bindparam("p_customer")


def apply_touches(session: Session, touches: Sequence[Touch]) -> None:
    """Record the visits and apply first/last touch, guide, store and tags."""
    if not touches:
        return
    session.flush()
    refs = _refs_by_id(session, {touch.channel_code_id for touch in touches})
    touches = [touch for touch in touches if touch.channel_code_id in refs]
    if not touches:
        return
    session.connection().execute(
        insert(_VISIT),
        [
            {
                "channel_code_id": touch.channel_code_id,
                "customer_id": touch.customer_id,
                "is_new_customer": touch.is_new_customer,
                "how": touch.how,
                "occurred_at": touch.at,
            }
            for touch in touches
        ],
    )
    # Within a batch only the earliest touch can be a first touch and only the latest
    # a last touch; the database conditions decide against what is already stored.
    earliest: dict[int, Touch] = {}
    latest: dict[int, Touch] = {}
    for touch in sorted(touches, key=lambda item: item.at):
        earliest.setdefault(touch.customer_id, touch)
        latest[touch.customer_id] = touch
    _apply_first_touch(session, earliest.values())
    _apply_last_touch(session, latest.values())
    _apply_owner(session, sorted(touches, key=lambda item: item.at), refs)
    _apply_tags(session, touches, refs)
    _expire_customers(session, {touch.customer_id for touch in touches})


def _touch_values(touch: Touch) -> dict[str, Any]:
    return {
        "p_customer": touch.customer_id,
        "p_code": touch.channel_code_id,
        "p_touchpoint": touch.touchpoint,
        "p_at": touch.at,
    }


def _apply_first_touch(session: Session, touches: Iterable[Touch]) -> None:
    statement = (
        update(_CUSTOMER)
        .where(_IS_CUSTOMER, _CUSTOMER.c.first_touch_at.is_(None))
        .values(
            first_touch_channel_code_id=bindparam("p_code"),
            first_touchpoint=bindparam("p_touchpoint"),
            first_touch_at=bindparam("p_at"),
        )
    )
    _execute_many(session, statement, [_touch_values(touch) for touch in touches])


def _apply_last_touch(session: Session, touches: Iterable[Touch]) -> None:
    # "Newer than what is stored" is part of the UPDATE, so a late-arriving old event
    # never moves the last touch backwards, whatever order requests commit in.
    statement = (
        update(_CUSTOMER)
        .where(
            _IS_CUSTOMER,
            or_(
                _CUSTOMER.c.last_touch_at.is_(None),
                _CUSTOMER.c.last_touch_at < bindparam("p_at"),
            ),
        )
        .values(
            last_touch_channel_code_id=bindparam("p_code"),
            last_touchpoint=bindparam("p_touchpoint"),
            last_touch_at=bindparam("p_at"),
        )
    )
    _execute_many(session, statement, [_touch_values(touch) for touch in touches])


def _apply_owner(
    session: Session, touches: Sequence[Touch], refs: dict[int, ChannelCodeRef]
) -> None:
    guides: dict[int, int] = {}
    stores: dict[int, int] = {}
    for touch in touches:  # oldest first: the earliest code with a guide wins
        ref = refs[touch.channel_code_id]
        if ref.guide_id is not None:
            guides.setdefault(touch.customer_id, ref.guide_id)
        if ref.store_id is not None:
            stores.setdefault(touch.customer_id, ref.store_id)
    # Only customers nobody owns yet: a guide's existing relationship is never taken away.
    _execute_many(
        session,
        update(_CUSTOMER)
        .where(_IS_CUSTOMER, _CUSTOMER.c.guide_id.is_(None))
        .values(guide_id=bindparam("p_guide")),
        [{"p_customer": customer, "p_guide": guide} for customer, guide in guides.items()],
    )
    _execute_many(
        session,
        update(_CUSTOMER)
        .where(_IS_CUSTOMER, _CUSTOMER.c.store_id.is_(None))
        .values(store_id=bindparam("p_store")),
        [{"p_customer": customer, "p_store": store} for customer, store in stores.items()],
    )


def ensure_tags(session: Session, entries: Iterable[str]) -> dict[str, int]:
    """Tag ids for ``entries`` ("name" or "group:name"), creating missing tags."""
    wanted = {entry: split_tag_name(entry) for entry in entries if entry.strip()}
    if not wanted:
        return {}
    keys = set(wanted.values())
    now = clock.now()
    # Insert-or-nothing on (group_name, name): two batches creating one tag both win.
    upsert = _dialect_insert(session)
    session.execute(
        upsert(Tag)
        .values(
            [
                {
                    "group_name": group,
                    "name": name,
                    "kind": TagKind.MANUAL.value,
                    "created_at": now,
                    "updated_at": now,
                }
                for group, name in sorted(keys)
            ]
        )
        .on_conflict_do_nothing(index_elements=["group_name", "name"])
    )
    names = {name for _group, name in keys}
    rows = session.execute(select(Tag.id, Tag.group_name, Tag.name).where(Tag.name.in_(names)))
    ids = {(row.group_name, row.name): row.id for row in rows}
    return {entry: ids[key] for entry, key in wanted.items()}


def _apply_tags(
    session: Session, touches: Sequence[Touch], refs: dict[int, ChannelCodeRef]
) -> None:
    tag_ids = ensure_tags(
        session, {name for touch in touches for name in refs[touch.channel_code_id].tag_names}
    )
    if not tag_ids:
        return
    now = clock.now()
    links: dict[tuple[int, int], str] = {}
    for touch in touches:
        ref = refs[touch.channel_code_id]
        for name in ref.tag_names:
            if name in tag_ids:
                links.setdefault((touch.customer_id, tag_ids[name]), f"channel_code:{ref.code}")
    if not links:
        return
    # A tag the customer already has keeps its original source and time; new ones get
    # a history row and follow exclusive groups (siyu.audiences.tags).
    tag_service.add_links(
        session,
        (
            tag_service.Link(customer, tag, source)
            for (customer, tag), source in sorted(links.items())
        ),
        now=now,
    )


def _expire_customers(session: Session, customer_ids: set[int]) -> None:
    # The updates above bypass the ORM; loaded Customer objects must reload them.
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Customer) and instance.id in customer_ids:
            session.expire(instance)


@dataclass(frozen=True)
class WecomAdd:
    customer_id: int
    staff_id: int
    channel_code_id: int | None


def record_wecom_add(
    session: Session,
    *,
    customer_id: int,
    staff_id: int,
    corp_id: str,
    external_userid: str | None,
    state: str | None,
    at: datetime,
    is_new_customer: bool,
) -> WecomAdd:
    """A customer added a staff member on WeCom, maybe through a contact way with a code.

    ``state`` that is not a known, active code is still stored on the relation (other
    tools use the field too) but attributes nothing.
    """
    session.flush()
    # The identity service owns the customer–staff relation; it keeps the first add.
    identify.link_staff(
        session,
        customer_id,
        staff_id,
        corp_id=corp_id,
        external_userid=external_userid,
        state=state,
        added_at=at,
    )
    ref = lookup_codes(session, [state]).get(state) if state else None
    if ref is None or not ref.is_active:
        return WecomAdd(customer_id, staff_id, None)
    apply_touches(
        session,
        [
            Touch(
                customer_id=customer_id,
                channel_code_id=ref.id,
                touchpoint="wecom",
                how=VisitHow.WECOM_ADD,
                at=at,
                is_new_customer=is_new_customer,
            )
        ],
    )
    return WecomAdd(customer_id, staff_id, ref.id)
