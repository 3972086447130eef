"""Tag groups and tags: create, rename, describe, delete; tagging customers by hand;
a customer's tag history.

Operators (``audiences.manage``) manage groups and tags. Tagging by hand needs
``customers.write`` or ``audiences.manage`` and reaches only the customers the caller
can see (a guide their own, ``siyu.staff.scope``); the others are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.audiences.tags import service
from siyu.audiences.tags.errors import (
    InvalidTag,
    TagExists,
    TagGroupExists,
    TagGroupNotEmpty,
    TagGroupNotFound,
    TagIsRule,
    TagNotFound,
)
from siyu.audiences.tags.schemas import (
    TaggingOut,
    TagGroupIn,
    TagGroupOut,
    TagGroupUpdate,
    TagHistoryEntry,
    TagIn,
    TagUpdate,
)
from siyu.core import clock
from siyu.core.pagination import decode_cursor, encode_cursor
from siyu.models.audience import CustomerTagHistory, TagGroup
from siyu.models.customer import Customer, CustomerStatus, CustomerTag, Tag, TagKind
from siyu.staff import audit
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped


def list_groups(session: Session) -> list[TagGroupOut]:
    counts: dict[str, int] = {
        str(name): int(total)
        for name, total in session.execute(
            select(Tag.group_name, func.count()).group_by(Tag.group_name)
        )
    }
    groups = session.scalars(select(TagGroup).order_by(TagGroup.sort_order, TagGroup.name))
    return [
        TagGroupOut.model_validate(group).model_copy(
            update={"tag_count": counts.get(group.name, 0)}
        )
        for group in groups
    ]


def get_group(session: Session, group_id: int) -> TagGroup:
    group = session.get(TagGroup, group_id)
    if group is None:
        raise TagGroupNotFound(data={"group_id": group_id})
    return group


def _group_name_free(session: Session, name: str, *, except_id: int | None = None) -> None:
    existing = session.scalar(select(TagGroup.id).where(TagGroup.name == name))
    if existing is not None and existing != except_id:
        raise TagGroupExists(data={"name": name})


def create_group(session: Session, actor: Principal, body: TagGroupIn) -> TagGroup:
    name = body.name.strip()
    if not name:
        raise InvalidTag("A group needs a name.", data={"field": "name"})
    _group_name_free(session, name)
    group = TagGroup(
        name=name,
        description=body.description,
        is_exclusive=body.is_exclusive,
        sort_order=body.sort_order,
    )
    session.add(group)
    session.flush()
    audit.record(session, actor, "tag_group.create", target_type="tag_group", target_id=group.id)
    return group


def update_group(
    session: Session, actor: Principal, group_id: int, body: TagGroupUpdate
) -> TagGroup:
    group = get_group(session, group_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        name = changes["name"].strip()
        if not name:
            raise InvalidTag("A group needs a name.", data={"field": "name"})
        if name != group.name:
            _group_name_free(session, name, except_id=group.id)
            clash = session.scalar(
                select(Tag.name)
                .where(Tag.group_name == name)
                .where(Tag.name.in_(select(Tag.name).where(Tag.group_name == group.name)))
                .limit(1)
            )
            if clash is not None:
                raise TagExists(data={"group_name": name, "name": clash})
            # tag.group_name names the group: the rename moves its tags along.
            session.execute(
                update(Tag).where(Tag.group_name == group.name).values(group_name=name),
                execution_options={"synchronize_session": "fetch"},
            )
            group.name = name
        changes.pop("name")
    for field, value in changes.items():
        setattr(group, field, value)
    session.flush()
    audit.record(
        session,
        actor,
        "tag_group.update",
        target_type="tag_group",
        target_id=group.id,
        detail=body.model_dump(exclude_unset=True),
    )
    return group


def delete_group(session: Session, actor: Principal, group_id: int) -> None:
    group = get_group(session, group_id)
    if session.scalar(select(func.count()).where(Tag.group_name == group.name)):
        raise TagGroupNotEmpty(data={"group_id": group_id})
    session.delete(group)
    session.flush()
    audit.record(session, actor, "tag_group.delete", target_type="tag_group", target_id=group_id)


def list_tags(session: Session, *, group_name: str | None = None) -> list[Tag]:
    statement = select(Tag).order_by(Tag.group_name, Tag.name)
    if group_name is not None:
        statement = statement.where(Tag.group_name == group_name)
    return list(session.scalars(statement))


def get_tag(session: Session, tag_id: int) -> Tag:
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise TagNotFound(data={"tag_id": tag_id})
    return tag


def _check_rule(session: Session, rule: dict[str, Any], tag_id: int | None) -> dict[str, Any]:
    """Validate a tag's rule; a rule tag may not depend on itself, even through others."""
    from siyu.audiences import rules

    parsed = rules.parse(rule, session=session)
    if tag_id is None:
        return rule
    # Follow the references through other rule tags: a cycle could never settle.
    seen: set[int] = set()
    pending = set(rules.referenced_tag_ids(parsed))
    while pending:
        current = pending.pop()
        if current == tag_id:
            raise InvalidTag(
                "A rule tag cannot depend on itself.", data={"field": "rule", "tag_id": tag_id}
            )
        if current in seen:
            continue
        seen.add(current)
        other = session.scalar(select(Tag.rule).where(Tag.id == current))
        if other:
            pending |= set(rules.referenced_tag_ids(rules.parse(other)))
    return rule


def _tag_name_free(
    session: Session, group_name: str, name: str, *, except_id: int | None = None
) -> None:
    existing = session.scalar(select(Tag.id).where(Tag.group_name == group_name, Tag.name == name))
    if existing is not None and existing != except_id:
        raise TagExists(data={"group_name": group_name, "name": name})


def create_tag(session: Session, actor: Principal, body: TagIn) -> Tag:
    name = body.name.strip()
    group_name = body.group_name.strip()
    if not name:
        raise InvalidTag("A tag needs a name.", data={"field": "name"})
    _tag_name_free(session, group_name, name)
    if group_name:
        service.ensure_group(session, group_name)
    rule = _check_rule(session, body.rule, None) if body.rule is not None else None
    tag = Tag(
        group_name=group_name,
        name=name,
        description=body.description,
        kind=TagKind.RULE if rule is not None else TagKind.MANUAL,
        rule=rule,
        customer_count=0,
    )
    session.add(tag)
    session.flush()
    audit.record(session, actor, "tag.create", target_type="tag", target_id=tag.id)
    return tag


def update_tag(session: Session, actor: Principal, tag_id: int, body: TagUpdate) -> Tag:
    tag = get_tag(session, tag_id)
    changes = body.model_dump(exclude_unset=True)
    group_name = (changes.get("group_name") or tag.group_name).strip()
    name = (changes.get("name") or tag.name).strip()
    if not name:
        raise InvalidTag("A tag needs a name.", data={"field": "name"})
    if (group_name, name) != (tag.group_name, tag.name):
        _tag_name_free(session, group_name, name, except_id=tag.id)
        if group_name:
            service.ensure_group(session, group_name)
    if "rule" in changes:
        if body.rule is None:
            raise InvalidTag("A tag's kind cannot change.", data={"field": "rule"})
        if tag.kind != TagKind.RULE:
            raise InvalidTag("A manual tag cannot take a rule.", data={"field": "rule"})
        tag.rule = _check_rule(session, body.rule, tag.id)
    tag.group_name, tag.name = group_name, name
    if body.description is not None:
        tag.description = body.description
    session.flush()
    audit.record(session, actor, "tag.update", target_type="tag", target_id=tag.id, detail=changes)
    return tag


def delete_tag(session: Session, actor: Principal, tag_id: int) -> None:
    tag = get_tag(session, tag_id)
    session.delete(tag)
    session.flush()
    audit.record(
        session,
        actor,
        "tag.delete",
        target_type="tag",
        target_id=tag_id,
        detail={"group_name": tag.group_name, "name": tag.name},
    )


def _visible_customers(session: Session, actor: Principal, ids: Sequence[int]) -> set[int]:
    visible: set[int] = set()
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        visible.update(
            session.scalars(
                scoped(
                    select(Customer.id).where(
                        Customer.id.in_(chunk), Customer.status == CustomerStatus.ACTIVE
                    ),
                    Customer,
                    actor,
                )
            )
        )
    return visible


def tag_customers(
    session: Session, actor: Principal, tag_id: int, customer_ids: Sequence[int], *, add: bool
) -> TaggingOut:
    """Add (or remove) a manual tag on the given customers the caller can see."""
    tag = get_tag(session, tag_id)
    if tag.kind == TagKind.RULE:
        raise TagIsRule(data={"tag_id": tag_id})
    visible = _visible_customers(session, actor, customer_ids)
    skipped = sorted({c for c in customer_ids if c not in visible})
    source = f"staff:{actor.username}"
    now = clock.now()
    if add:
        changed = service.add_links(
            session, (service.Link(c, tag_id, source) for c in sorted(visible)), now=now
        )
    else:
        changed = service.remove_links(session, tag_id, sorted(visible), source=source, now=now)
    audit.record(
        session,
        actor,
        "tag.add" if add else "tag.remove",
        target_type="tag",
        target_id=tag_id,
        detail={"customers": len(visible), "changed": changed, "skipped": len(skipped)},
    )
    return TaggingOut(tag_id=tag_id, changed=changed, skipped=skipped)


def visible_customer(session: Session, actor: Principal, customer_id: int) -> bool:
    return bool(
        session.scalar(
            scoped(select(Customer.id).where(Customer.id == customer_id), Customer, actor)
        )
    )


def history(
    session: Session, customer_id: int, *, limit: int, cursor: str | None
) -> tuple[list[TagHistoryEntry], str | None]:
    """Newest first, keyset-paged by history id."""
    statement = (
        select(CustomerTagHistory, Tag.group_name, Tag.name)
        .join(Tag, Tag.id == CustomerTagHistory.tag_id)
        .where(CustomerTagHistory.customer_id == customer_id)
        .order_by(CustomerTagHistory.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        (before,) = decode_cursor(cursor, parts=1)
        statement = statement.where(CustomerTagHistory.id < before)
    rows = session.execute(statement).all()
    items = [
        TagHistoryEntry(
            tag_id=row[0].tag_id,
            group_name=row.group_name,
            tag_name=row.name,
            action=row[0].action,
            source=row[0].source,
            at=row[0].at,
        )
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return items, next_cursor


def holders_count(session: Session, tag_id: int) -> int:
    return int(session.scalar(select(func.count()).where(CustomerTag.tag_id == tag_id)) or 0)
