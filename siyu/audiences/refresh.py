"""One audience refresh: traits (with RFM and lifecycle) → rule tags → rule segments.

The order matters: rules read traits and tags, and a rule tag may read another rule
tag, so rule tags are evaluated in dependency order (a tag after the tags its rule
names) and segments last. One DuckDB connection (``rules.open_context``) serves the
traits and every rule of the run; its ``customer_tags`` is read again from the OLTP
session after a tag that later rules read, so they see the members just written.

``customer_ids`` makes the run incremental: only those customers are re-evaluated and
only their memberships change (the warehouse after-sync hook passes the customers
the last export touched). ``None`` re-evaluates everyone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.segments import service as segments
from siyu.audiences.segments.schemas import SegmentRefreshOut
from siyu.audiences.tags import service as tags
from siyu.models.customer import Tag, TagKind
from siyu.staff.principal import Principal
from siyu.warehouse.engine import naive_utc

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from siyu.warehouse.engine import Warehouse

logger = logging.getLogger(__name__)


@dataclass
class RefreshSummary:
    customers: int | None  # None: a full refresh
    traits_changed: int = 0
    tags: dict[int, tuple[int, int]] = field(default_factory=dict)
    tag_errors: dict[int, str] = field(default_factory=dict)
    segments: list[SegmentRefreshOut] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)


def _ordered_rule_tags(session: Session) -> tuple[list[Tag], set[int]]:
    """Rule tags, each after the rule tags its rule references (saving refuses cycles;
    a cycle that slipped in anyway is broken by id order), and the ids of the rule
    tags some other rule tag reads."""
    from siyu.audiences import rules

    items = list(session.scalars(select(Tag).where(Tag.kind == TagKind.RULE).order_by(Tag.id)))
    by_id = {tag.id: tag for tag in items}
    needs: dict[int, set[int]] = {}
    for tag in items:
        try:
            refs = rules.referenced_tag_ids(rules.parse(tag.rule or {}))
        except Exception:  # noqa: BLE001 - an invalid rule fails later, in its own refresh
            refs = set()
        needs[tag.id] = {ref for ref in refs if ref in by_id and ref != tag.id}
    ordered: list[Tag] = []
    placed: set[int] = set()
    while len(ordered) < len(items):
        ready = [t for t in items if t.id not in placed and needs[t.id] <= placed]
        if not ready:
            ready = [next(t for t in items if t.id not in placed)]
        for tag in ready:
            ordered.append(tag)
            placed.add(tag.id)
    return ordered, set().union(*needs.values()) if needs else set()


def refresh_rule_tag(
    session: Session,
    wh: Warehouse,
    tag: Tag,
    *,
    now: datetime,
    restrict_to: pa.Array | None = None,
    con: DuckDBPyConnection | None = None,
    actor: Principal | None = None,
) -> tuple[int, int]:
    """Re-evaluate one rule tag; returns (added, removed)."""
    from siyu.audiences import rules
    from siyu.audiences.tags.errors import InvalidTag

    if tag.kind != TagKind.RULE or not tag.rule:
        raise InvalidTag("Only a rule tag can be refreshed.", data={"tag_id": tag.id})
    segments.require_synced(wh)
    rule = rules.parse(tag.rule, session=session)
    if con is None:
        with rules.open_context(session, wh, tag_ids=rules.referenced_tag_ids(rule)) as own:
            ids = rules.members(own, rule, now=naive_utc(now), restrict_to=restrict_to)
    else:
        ids = rules.members(con, rule, now=naive_utc(now), restrict_to=restrict_to)
    return tags.sync_tag_members(
        session, tag.id, ids, source=f"rule:{tag.id}", now=now, restrict_to=restrict_to
    )


def referenced_tags(session: Session, stored_rules: list[dict[str, Any] | None]) -> set[int]:
    """The tag ids the given rules read: the customer_tags a context must register."""
    from siyu.audiences import rules

    wanted: set[int] = set()
    for stored in stored_rules:
        try:
            wanted |= set(rules.referenced_tag_ids(rules.parse(stored or {})))
        except Exception:  # noqa: BLE001 - an invalid rule fails later, in its own refresh
            continue
    return wanted


def _refresh_tags(
    session: Session,
    con: DuckDBPyConnection,
    wh: Warehouse,
    summary: RefreshSummary,
    ordered: tuple[list[Tag], set[int]],
    *,
    now: datetime,
    restrict: Any,
    tag_ids: set[int],
    skip: frozenset[int],
) -> None:
    """Each rule tag of ``ordered`` (``_ordered_rule_tags``) but those in ``skip``."""
    from siyu.audiences import rules

    tags_in_order, read_by_others = ordered
    for tag in tags_in_order:
        if tag.id in skip:
            continue
        try:
            with session.begin_nested():
                summary.tags[tag.id] = refresh_rule_tag(
                    session, wh, tag, now=now, restrict_to=restrict, con=con
                )
        except Exception as error:  # noqa: BLE001 - one bad tag must not stop the rest
            logger.warning("rule tag %s refresh failed: %s", tag.id, error)
            summary.tag_errors[tag.id] = f"{type(error).__name__}: {error}"[:500]
            continue
        if tag.id in read_by_others:
            # A later rule reads this tag: it must see the members just written.
            rules.register_customer_tags(con, session, tag_ids=tag_ids)


def refresh_all(
    session: Session,
    wh: Warehouse,
    *,
    now: datetime,
    customer_ids: pa.Array | None = None,
    include_traits: bool = True,
) -> RefreshSummary:
    """traits.recompute → rule tags → every active rule segment (see the module doc).

    One DuckDB connection serves the whole run, with the latest customer versions
    pinned (``Warehouse.pin_customers``): every rule and the traits read them, and
    deduplicating them per query was most of an incremental run's time."""
    from siyu.audiences import rules

    started = time.perf_counter()
    summary = RefreshSummary(customers=None if customer_ids is None else len(customer_ids))
    if customer_ids is not None and len(customer_ids) == 0:
        return summary
    segment_ids = segments.active_rule_segment_ids(session)
    ordered = _ordered_rule_tags(session)
    rule_tags = ordered[0]
    tag_ids = referenced_tags(
        session, [tag.rule for tag in rule_tags] + segments.rules_of(session, segment_ids)
    )
    mark = time.perf_counter()
    con = rules.open_context(session, wh, tag_ids=tag_ids)
    try:
        wh.pin_customers(con)
        summary.stages["open"] = round(time.perf_counter() - mark, 3)
        skip: frozenset[int] = frozenset()
        if include_traits:
            from siyu.audiences import traits

            mark = time.perf_counter()
            result = traits.recompute(session, wh, now=now, customer_ids=customer_ids, con=con)
            summary.traits_changed = result.changed
            # The RFM tags were just made exact from the same computation.
            skip = result.rfm_tag_ids
            summary.stages["traits"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        if rule_tags:
            _refresh_tags(
                session,
                con,
                wh,
                summary,
                ordered,
                now=now,
                restrict=customer_ids,
                tag_ids=tag_ids,
                skip=skip,
            )
            # Segments read tags: the ones written above (RFM and rule tags) included.
            rules.register_customer_tags(con, session, tag_ids=tag_ids)
        summary.stages["tags"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        for segment_id in segment_ids:
            summary.segments.append(
                segments.refresh(
                    session, wh, segment_id, now=now, restrict_to=customer_ids, con=con
                )
            )
        summary.stages["segments"] = round(time.perf_counter() - mark, 3)
    finally:
        con.close()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def refresh_due(session: Session, wh: Warehouse, *, now: datetime) -> list[SegmentRefreshOut]:
    """The scheduled run: refresh the segments whose ``next_refresh_at`` has come."""
    from siyu.audiences import rules

    due = segments.due_segment_ids(session, now=now)
    if not due:
        return []
    tag_ids = referenced_tags(session, segments.rules_of(session, due))
    with rules.open_context(session, wh, tag_ids=tag_ids) as con:
        return [segments.refresh(session, wh, sid, now=now, con=con) for sid in due]
