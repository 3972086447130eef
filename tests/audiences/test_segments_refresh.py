"""Refreshing against a real warehouse built by the exporter from OLTP rows: rule
segments, rule tags before segments, the incremental after-sync hook against a full
refresh, a failed refresh keeping its members, and the scheduled job chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from siyu.audiences import refresh, tasks
from siyu.audiences.segments import service as segments
from siyu.audiences.segments.schemas import SegmentIn
from siyu.audiences.tags import manage as tag_manage
from siyu.audiences.tags.schemas import TagIn
from siyu.core import clock
from siyu.core import settings as settings_module
from siyu.core.settings import Settings
from siyu.models.audience import Segment
from siyu.models.customer import Customer
from siyu.models.job import Job
from siyu.staff.principal import command_line_principal
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.audiences.segments_helpers import holders, members, segment_events
from tests.warehouse.factories import make_customer, make_event, make_order

Write = Callable[[], AbstractContextManager[Session]]
ACTOR = command_line_principal("test")
T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
SHANGHAI = {"attribute": "city", "op": "=", "value": "上海"}
LOOKERS = {
    "event": "product_view",
    "count": {"op": ">=", "value": 3},
    "window": {"days": 7},
}


@pytest.fixture
def installed(warehouse: Warehouse, test_settings: Settings) -> Iterator[Settings]:
    settings = test_settings.model_copy(update={"warehouse_dir": warehouse.root})
    settings_module.install(settings)
    yield settings
    settings_module.install(None)


def _brand(write: Write) -> dict[str, int]:
    with write() as session:
        people = {
            "a": make_customer(session, at=T0 - timedelta(days=30), city="上海"),
            "b": make_customer(session, at=T0 - timedelta(days=30), city="北京"),
            "c": make_customer(session, at=T0 - timedelta(days=30), city="上海"),
            "d": make_customer(session, at=T0 - timedelta(days=30), city="广州"),
        }
        for days in (1, 2, 3):
            make_event(session, people["a"], occurred_at=T0 - timedelta(days=days))
        make_event(session, people["b"], occurred_at=T0 - timedelta(days=1))
        return {key: customer.id for key, customer in people.items()}


def test_full_then_incremental_refresh_matches_a_full_refresh(
    committed_engine: Engine, write: Write, warehouse: Warehouse, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.set(T0)
    people = _brand(write)
    export.sync(committed_engine, warehouse, now=clock.now())
    with write() as session:
        segment_id = segments.create(
            session, ACTOR, SegmentIn(name="上海顾客", rule=SHANGHAI, refresh_minutes=60)
        ).id
        summary = refresh.refresh_all(session, warehouse, now=clock.now())
        assert [result.ok for result in summary.segments] == [True]
        assert members(session, segment_id) == sorted([people["a"], people["c"]])
        assert segment_events(session, "segment.entered", segment_id) == members(
            session, segment_id
        )
        segment = session.get(Segment, segment_id)
        assert segment is not None
        assert (segment.member_count, segment.refreshed_at) == (2, clock.now())
        assert segment.next_refresh_at == clock.now() + timedelta(minutes=60)

    # b moves to Shanghai, c leaves: the after-sync hook re-evaluates just them.
    frozen_clock.advance(timedelta(minutes=5))
    with write() as session:
        for key, city in (("b", "上海"), ("c", "杭州")):
            session.execute(
                update(Customer)
                .where(Customer.id == people[key])
                .values(city=city, updated_at=clock.now())
            )
    synced = export.sync(committed_engine, warehouse, now=clock.now())
    touched = sorted(synced.touched_customer_ids.to_pylist())
    assert touched == sorted([people["b"], people["c"]])
    with write() as session:
        tasks.after_sync(session, warehouse, synced)
        assert members(session, segment_id) == sorted([people["a"], people["b"]])
        assert segment_events(session, "segment.exited", segment_id) == [people["c"]]
        # A full refresh now finds nothing left to change.
        again = refresh.refresh_all(session, warehouse, now=clock.now(), include_traits=False)
        assert [(r.entered, r.exited) for r in again.segments] == [(0, 0)]


def test_rule_tags_refresh_before_segments_that_read_them(
    committed_engine: Engine, write: Write, warehouse: Warehouse, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.set(T0)
    people = _brand(write)
    export.sync(committed_engine, warehouse, now=clock.now())
    with write() as session:
        tag = tag_manage.create_tag(
            session, ACTOR, TagIn(group_name="兴趣", name="口红关注", rule=LOOKERS)
        )
        segment_id = segments.create(
            session,
            ACTOR,
            SegmentIn(
                name="关注口红的上海顾客", rule={"all": [{"tag": tag.id, "has": True}, SHANGHAI]}
            ),
        ).id
        summary = refresh.refresh_all(session, warehouse, now=clock.now(), include_traits=False)
        assert summary.tags == {tag.id: (1, 0)}
        assert holders(session, tag.id) == [people["a"]]
        assert members(session, segment_id) == [people["a"]]


def test_a_failed_refresh_keeps_the_last_good_members(
    committed_engine: Engine, write: Write, warehouse: Warehouse, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.set(T0)
    people = _brand(write)
    export.sync(committed_engine, warehouse, now=clock.now())
    with write() as session:
        segment_id = segments.create(session, ACTOR, SegmentIn(name="上海", rule=SHANGHAI)).id
        assert segments.refresh(session, warehouse, segment_id, now=clock.now()).ok
        # A rule that no longer parses (stored before a field was retired).
        session.execute(
            update(Segment)
            .where(Segment.id == segment_id)
            .values(rule={"trait": "retired_trait", "op": "=", "value": 1})
        )
        session.expire_all()
        result = segments.refresh(session, warehouse, segment_id, now=clock.now())
        assert not result.ok
        assert result.error is not None
        assert "retired_trait" in result.error
        segment = session.get(Segment, segment_id)
        assert segment is not None
        assert segment.last_error == result.error
        assert segment.member_count == 2
        assert members(session, segment_id) == sorted([people["a"], people["c"]])


def test_scheduled_job_refreshes_due_segments_and_re_enqueues(
    committed_engine: Engine,
    write: Write,
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
    installed: Settings,
) -> None:
    frozen_clock.set(T0)
    people = _brand(write)
    export.sync(committed_engine, warehouse, now=clock.now())
    with write() as session:
        due = segments.create(session, ACTOR, SegmentIn(name="上海", rule=SHANGHAI)).id
        manual = segments.create(
            session, ACTOR, SegmentIn(name="手动", rule=SHANGHAI, refresh_minutes=None)
        ).id
        keys = set(session.scalars(select(Job.idempotency_key).where(Job.task == tasks.TASK)))
        assert keys == {f"{tasks.TASK}:{T0.isoformat()}"}
    with write() as session:
        tasks.run_refresh(session, {})
        assert members(session, due) == sorted([people["a"], people["c"]])
        assert members(session, manual) == []
        next_run = T0 + timedelta(minutes=60)
        keys = set(session.scalars(select(Job.idempotency_key).where(Job.task == tasks.TASK)))
        assert f"{tasks.TASK}:{next_run.isoformat()}" in keys
        segment = session.get(Segment, due)
        assert segment is not None
        assert segment.next_refresh_at == next_run


def test_an_unsynced_warehouse_never_empties_a_segment(
    session: Session, warehouse: Warehouse, frozen_clock: clock.FrozenClock
) -> None:
    """A warehouse never synced (a new data dir, a lost volume) would match nobody:
    the refresh is refused, members stay, and no exit event is written."""
    from siyu.models.outbox import OutboxEvent
    from tests.audiences.segments_helpers import count, make_customers

    ids = make_customers(session, 2)
    segment = segments.create(session, ACTOR, SegmentIn(name="上海", rule=SHANGHAI))
    segments.record_membership(session, segment, ids, now=clock.now())
    events = count(session, OutboxEvent)
    result = segments.refresh(session, warehouse, segment.id, now=clock.now())
    assert not result.ok
    assert result.error is not None
    assert "not been synced" in result.error
    assert members(session, segment.id) == ids
    assert count(session, OutboxEvent) == events


def test_one_run_reads_its_own_traits_and_chained_rule_tags(
    committed_engine: Engine, write: Write, warehouse: Warehouse, frozen_clock: clock.FrozenClock
) -> None:
    """The first run on a warehouse without traits: segments of the same run read the
    traits just computed (the shared connection re-points ``traits``), a rule tag that
    reads another rule tag sees its members, and the RFM tags made by the traits step
    are not evaluated a second time."""
    from siyu.audiences import rfm
    from siyu.models.customer import Tag

    frozen_clock.set(T0)
    people = _brand(write)
    with write() as session:
        buyer = session.get(Customer, people["c"])
        assert buyer is not None
        make_order(session, buyer, at=T0 - timedelta(days=2))
    export.sync(committed_engine, warehouse, now=clock.now())
    with write() as session:
        lookers = tag_manage.create_tag(
            session, ACTOR, TagIn(group_name="兴趣", name="口红关注", rule=LOOKERS)
        )
        shanghai_lookers = tag_manage.create_tag(
            session,
            ACTOR,
            TagIn(
                group_name="兴趣",
                name="上海口红关注",
                rule={"all": [{"tag": lookers.id, "has": True}, SHANGHAI]},
            ),
        )
        buyers = segments.create(
            session,
            ACTOR,
            SegmentIn(name="有购买", rule={"trait": "orders_total", "op": ">=", "value": 1}),
        ).id
        active = segments.create(
            session,
            ACTOR,
            SegmentIn(
                name="近7天活跃", rule={"trait": "last_active_at", "op": "within_days", "value": 7}
            ),
        ).id
        summary = refresh.refresh_all(session, warehouse, now=clock.now())
        assert members(session, buyers) == [people["c"]]
        assert members(session, active) == sorted([people["a"], people["b"], people["c"]])
        assert holders(session, shanghai_lookers.id) == [people["a"]]
        rfm_tags = set(session.scalars(select(Tag.id).where(Tag.group_name == rfm.TAG_GROUP)))
        assert len(rfm_tags) == len(rfm.GROUPS)
        assert set(summary.tags) == {lookers.id, shanghai_lookers.id}
        assert sum(len(holders(session, tag_id)) for tag_id in rfm_tags) == 1
