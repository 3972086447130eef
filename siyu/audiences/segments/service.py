"""Segments (人群包): saved rules and static lists, and refreshing them.

A rule segment's members are whoever its rule (``siyu.audiences.rules``) matches in
the warehouse at its last refresh; a static list holds the ids uploaded to it
(``segments.static``). A refresh that fails (a rule the warehouse cannot evaluate, a
missing file) records ``last_error`` and keeps the last good membership.

Scheduled refreshes: each active rule segment with ``refresh_minutes`` has a
``next_refresh_at``; the ``audiences.refresh`` job (``siyu.audiences.tasks``)
refreshes the due ones and re-enqueues itself for the next due time.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.segments.errors import (
    InvalidSegment,
    SegmentArchived,
    SegmentExists,
    SegmentNotFound,
    WarehouseNotSynced,
    WrongSegmentKind,
)
from siyu.audiences.segments.membership import apply_membership
from siyu.audiences.segments.schemas import SegmentIn, SegmentRefreshOut, SegmentUpdate
from siyu.audiences.tags import bulk
from siyu.core import clock
from siyu.models.audience import Segment, SegmentKind, SegmentSize, SegmentStatus
from siyu.staff import audit
from siyu.staff.principal import Principal

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from siyu.warehouse.engine import Warehouse

logger = logging.getLogger(__name__)
ERROR_MAX_LENGTH = 2000


def get(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise SegmentNotFound(data={"segment_id": segment_id})
    return segment


def list_segments(session: Session, *, include_archived: bool = False) -> list[Segment]:
    statement = select(Segment).order_by(Segment.id.desc())
    if not include_archived:
        statement = statement.where(Segment.status == SegmentStatus.ACTIVE)
    return list(session.scalars(statement))


def _name_free(session: Session, name: str, *, except_id: int | None = None) -> None:
    existing = session.scalar(select(Segment.id).where(Segment.name == name))
    if existing is not None and existing != except_id:
        raise SegmentExists(data={"name": name})


def validate_rule(session: Session, rule: dict[str, Any]) -> dict[str, Any]:
    from siyu.audiences import rules

    rules.parse(rule, session=session)
    return rule


def _schedule(segment: Segment, now: datetime) -> None:
    due = (
        now + timedelta(minutes=segment.refresh_minutes)
        if segment.refresh_minutes and segment.kind == SegmentKind.RULE
        else None
    )
    segment.next_refresh_at = due


def _start_chain(session: Session, segment: Segment) -> None:
    if segment.next_refresh_at is not None:
        from siyu.audiences import tasks

        tasks.schedule(session, at=segment.next_refresh_at)


def create(session: Session, actor: Principal, body: SegmentIn) -> Segment:
    name = body.name.strip()
    if not name:
        raise InvalidSegment("A segment needs a name.", data={"field": "name"})
    _name_free(session, name)
    if body.kind == SegmentKind.RULE:
        if body.rule is None:
            raise InvalidSegment("A rule segment needs a rule.", data={"field": "rule"})
        rule: dict[str, Any] | None = validate_rule(session, body.rule)
    else:
        if body.rule is not None:
            raise InvalidSegment("A static list has no rule.", data={"field": "rule"})
        rule = None
    now = clock.now()
    segment = Segment(
        name=name,
        description=body.description,
        kind=body.kind,
        status=SegmentStatus.ACTIVE,
        rule=rule,
        refresh_minutes=body.refresh_minutes if body.kind == SegmentKind.RULE else None,
        member_count=0,
        created_by=actor.username,
    )
    # Due at once: the first scheduled run fills a new rule segment.
    segment.next_refresh_at = now if segment.refresh_minutes else None
    session.add(segment)
    session.flush()
    if segment.refresh_minutes is not None and body.kind == SegmentKind.STATIC:
        # The column's default (60) fills an explicit None on INSERT; a static list
        # never refreshes, so clear it with an UPDATE.
        segment.refresh_minutes = None
        session.flush()
    _start_chain(session, segment)
    audit.record(session, actor, "segment.create", target_type="segment", target_id=segment.id)
    return segment


def update(session: Session, actor: Principal, segment_id: int, body: SegmentUpdate) -> Segment:
    segment = get(session, segment_id)
    if segment.status == SegmentStatus.ARCHIVED:
        raise SegmentArchived(data={"segment_id": segment_id})
    changes = body.model_dump(exclude_unset=True)
    if body.name is not None and body.name.strip() != segment.name:
        name = body.name.strip()
        if not name:
            raise InvalidSegment("A segment needs a name.", data={"field": "name"})
        _name_free(session, name, except_id=segment.id)
        segment.name = name
    if body.description is not None:
        segment.description = body.description
    if "rule" in changes:
        if segment.kind != SegmentKind.RULE or body.rule is None:
            raise InvalidSegment("Only a rule segment has a rule.", data={"field": "rule"})
        segment.rule = validate_rule(session, body.rule)
        # A new rule makes the stored membership stale: due at once.
        segment.next_refresh_at = clock.now() if segment.refresh_minutes else None
    if "refresh_minutes" in changes and segment.kind == SegmentKind.RULE:
        segment.refresh_minutes = body.refresh_minutes
        _schedule(segment, clock.now())
    session.flush()
    _start_chain(session, segment)
    audit.record(
        session,
        actor,
        "segment.update",
        target_type="segment",
        target_id=segment.id,
        detail={key: value for key, value in changes.items() if key != "rule"},
    )
    return segment


def archive(session: Session, actor: Principal, segment_id: int) -> Segment:
    """Archived segments stop refreshing and keep their members for reference."""
    segment = get(session, segment_id)
    segment.status = SegmentStatus.ARCHIVED
    segment.next_refresh_at = None
    session.flush()
    audit.record(session, actor, "segment.archive", target_type="segment", target_id=segment.id)
    return segment


def restore(session: Session, actor: Principal, segment_id: int) -> Segment:
    segment = get(session, segment_id)
    segment.status = SegmentStatus.ACTIVE
    _schedule(segment, clock.now())
    session.flush()
    _start_chain(session, segment)
    audit.record(session, actor, "segment.restore", target_type="segment", target_id=segment.id)
    return segment


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_MAX_LENGTH else text[: ERROR_MAX_LENGTH - 3] + "..."


def record_membership(
    session: Session,
    segment: Segment,
    customer_ids: pa.Array | bulk.IdArray,
    *,
    now: datetime,
    restrict_to: pa.Array | None = None,
    started: float | None = None,
) -> SegmentRefreshOut:
    """Store a freshly computed membership, its size row and the next due time."""
    started = time.perf_counter() if started is None else started
    restrict = None if restrict_to is None else bulk.to_ids(restrict_to)
    change = apply_membership(
        session, segment.id, bulk.to_ids(customer_ids), now=now, restrict_to=restrict
    )
    seconds = round(time.perf_counter() - started, 4)
    segment.member_count = change.member_count
    segment.last_error = None
    if restrict is None:
        segment.refreshed_at = now
        _schedule(segment, now)
    if restrict is None or change.entered or change.exited:
        # Incremental refreshes add a point only when something moved, so a segment
        # refreshed every minute does not grow a flat 1,440-point line a day.
        session.add(
            SegmentSize(
                segment_id=segment.id,
                at=now,
                size=change.member_count,
                entered=change.entered,
                exited=change.exited,
                seconds=seconds,
            )
        )
    session.flush()
    return SegmentRefreshOut(
        segment_id=segment.id,
        ok=True,
        member_count=change.member_count,
        entered=change.entered,
        exited=change.exited,
        seconds=seconds,
    )


def refresh(
    session: Session,
    wh: Warehouse,
    segment_id: int,
    *,
    now: datetime,
    restrict_to: pa.Array | None = None,
    con: DuckDBPyConnection | None = None,
) -> SegmentRefreshOut:
    """Re-evaluate a rule segment (only the ``restrict_to`` customers when given)."""
    from siyu.audiences import rules

    segment = get(session, segment_id)
    if segment.status == SegmentStatus.ARCHIVED:
        raise SegmentArchived(data={"segment_id": segment_id})
    if segment.kind != SegmentKind.RULE or segment.rule is None:
        raise WrongSegmentKind(data={"segment_id": segment_id, "kind": segment.kind})
    started = time.perf_counter()
    naive_now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    try:
        require_synced(wh)
        rule = rules.parse(segment.rule, session=session)
        if con is None:
            tag_ids = rules.referenced_tag_ids(rule)
            with rules.open_context(session, wh, tag_ids=tag_ids) as own:
                ids = rules.members(own, rule, now=naive_now, restrict_to=restrict_to)
        else:
            ids = rules.members(con, rule, now=naive_now, restrict_to=restrict_to)
    except Exception as error:  # noqa: BLE001 - any evaluation failure keeps the old members
        logger.warning("segment %s refresh failed: %s", segment_id, error)
        segment.last_error = _describe(error)
        if restrict_to is None:
            _schedule(segment, now)
        session.flush()
        return SegmentRefreshOut(
            segment_id=segment.id,
            ok=False,
            member_count=segment.member_count,
            entered=0,
            exited=0,
            seconds=round(time.perf_counter() - started, 4),
            error=segment.last_error,
        )
    return record_membership(
        session, segment, ids, now=now, restrict_to=restrict_to, started=started
    )


def require_synced(wh: Warehouse) -> None:
    if wh.freshness().get("last_sync_at") is None:
        raise WarehouseNotSynced()


def due_segment_ids(session: Session, *, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(Segment.id)
            .where(
                Segment.status == SegmentStatus.ACTIVE,
                Segment.kind == SegmentKind.RULE,
                Segment.next_refresh_at.is_not(None),
                Segment.next_refresh_at <= now,
            )
            .order_by(Segment.next_refresh_at, Segment.id)
        )
    )


def next_due(session: Session) -> datetime | None:
    return session.scalar(
        select(Segment.next_refresh_at)
        .where(
            Segment.status == SegmentStatus.ACTIVE,
            Segment.kind == SegmentKind.RULE,
            Segment.next_refresh_at.is_not(None),
        )
        .order_by(Segment.next_refresh_at)
        .limit(1)
    )


def active_rule_segment_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Segment.id)
            .where(Segment.status == SegmentStatus.ACTIVE, Segment.kind == SegmentKind.RULE)
            .order_by(Segment.id)
        )
    )


def rules_of(session: Session, segment_ids: list[int]) -> list[dict[str, Any] | None]:
    return list(session.scalars(select(Segment.rule).where(Segment.id.in_(segment_ids))))


def sizes(session: Session, segment_id: int, *, limit: int = 500) -> list[SegmentSize]:
    get(session, segment_id)
    rows = session.scalars(
        select(SegmentSize)
        .where(SegmentSize.segment_id == segment_id)
        .order_by(SegmentSize.at.desc(), SegmentSize.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))
