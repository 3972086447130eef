"""Segment membership diffs: stored members, change rows, exactly one domain event per
change, incremental (restrict_to) against full, sizes, static CSV uploads, merges."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences import tasks as _tasks  # noqa: F401  (registers the re-pointers)
from siyu.audiences.segments import service as segments
from siyu.audiences.segments import static
from siyu.audiences.segments.errors import (
    StaticFileEmpty,
    StaticFileTooLarge,
    StaticFileUnreadable,
    WrongSegmentKind,
)
from siyu.audiences.segments.membership import apply_membership
from siyu.audiences.tags import bulk
from siyu.core import clock
from siyu.customers import merge
from siyu.models.audience import Segment, SegmentChange, SegmentMember, SegmentSize
from siyu.models.customer import Customer, CustomerStatus
from siyu.models.outbox import OutboxEvent
from siyu.staff.principal import command_line_principal
from tests.audiences.segments_helpers import (
    changes,
    count,
    make_customers,
    make_segment,
    members,
    merge_into,
    segment_events,
)

ACTOR = command_line_principal("test")


def _ids(values: list[int]) -> np.ndarray:
    return np.asarray(sorted(set(values)), dtype=np.int64)


def test_refresh_diff_writes_changes_and_one_event_per_change(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = make_customers(session, 6)
    segment = make_segment(session, kind="rule", rule={"all": []})
    first = segments.record_membership(session, segment, _ids(ids[:4]), now=clock.now())
    assert (first.entered, first.exited, first.member_count) == (4, 0, 4)
    frozen_clock.advance(timedelta(minutes=30))
    second = segments.record_membership(
        session, segment, _ids([ids[1], ids[3], ids[5]]), now=clock.now()
    )
    assert (second.entered, second.exited, second.member_count) == (1, 2, 3)
    assert members(session, segment.id) == [ids[1], ids[3], ids[5]]
    assert changes(session, segment.id) == [
        *[(c, "entered") for c in ids[:4]],
        (ids[5], "entered"),
        (ids[0], "exited"),
        (ids[2], "exited"),
    ]
    assert segment_events(session, "segment.entered", segment.id) == [*ids[:4], ids[5]]
    assert segment_events(session, "segment.exited", segment.id) == [ids[0], ids[2]]
    # Nothing moved: no change rows, no events, but a size point of a full refresh.
    third = segments.record_membership(
        session, segment, _ids([ids[1], ids[3], ids[5]]), now=clock.now()
    )
    assert (third.entered, third.exited) == (0, 0)
    assert count(session, SegmentChange) == 7
    assert count(session, OutboxEvent) == 7
    sizes = session.scalars(
        select(SegmentSize.size)
        .where(SegmentSize.segment_id == segment.id)
        .order_by(SegmentSize.id)
    ).all()
    assert list(sizes) == [4, 3, 3]
    session.refresh(segment)
    assert segment.member_count == 3
    assert segment.refreshed_at == clock.now()
    assert segment.last_error is None


@pytest.mark.parametrize("read_limit", [0, 50_000], ids=["read-all", "read-in-lists"])
def test_incremental_refreshes_match_a_full_refresh(
    session: Session,
    frozen_clock: clock.FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    read_limit: int,
) -> None:
    """Random memberships: applying the new truth touched-customers-only must end where a
    full refresh ends, with the same enter/exit counts (reading the stored members
    either way: whole, or by IN lists of the touched ids)."""
    monkeypatch.setattr(bulk, "RESTRICTED_READ_LIMIT", read_limit)
    ids = make_customers(session, 60)
    generator = random.Random(7)
    full = make_segment(session, kind="rule", rule={"all": []})
    incremental = make_segment(session, kind="rule", rule={"all": []})
    truth = set(generator.sample(ids, 30))
    for segment in (full, incremental):
        segments.record_membership(session, segment, _ids(list(truth)), now=clock.now())
    for _round in range(4):
        touched = set(generator.sample(ids, 15))
        flipped = {c for c in touched if generator.random() < 0.6}
        truth ^= flipped
        frozen_clock.advance(timedelta(minutes=1))
        whole = segments.record_membership(session, full, _ids(list(truth)), now=clock.now())
        part = segments.record_membership(
            session,
            incremental,
            # The rule over the touched customers only: the truth restricted to them.
            _ids([c for c in truth if c in touched]),
            now=clock.now(),
            restrict_to=_ids(list(touched)),
        )
        assert (part.entered, part.exited) == (whole.entered, whole.exited)
        assert members(session, incremental.id) == members(session, full.id) == sorted(truth)
    assert segment_events(session, "segment.entered", incremental.id) == segment_events(
        session, "segment.entered", full.id
    )


@pytest.mark.parametrize("read_limit", [0, 50_000], ids=["subtract-inactive", "in-lists"])
def test_inactive_customers_never_enter(
    session: Session,
    frozen_clock: clock.FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    read_limit: int,
) -> None:
    monkeypatch.setattr(bulk, "RESTRICTED_READ_LIMIT", read_limit)
    ids = make_customers(session, 3)
    merge_into(session, ids[1], ids[0])
    segment = make_segment(session, kind="rule", rule={"all": []})
    # An id beyond every customer (a warehouse ahead of this database) never enters.
    change = apply_membership(session, segment.id, _ids([*ids, ids[-1] + 10]), now=clock.now())
    assert (change.entered, change.member_count) == (2, 2)
    assert members(session, segment.id) == [ids[0], ids[2]]


def test_merge_repoints_members_and_changes(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    survivor, merged, other = make_customers(session, 3)
    both = make_segment(session)
    only_merged = make_segment(session)
    segments.record_membership(session, both, _ids([survivor, merged, other]), now=clock.now())
    segments.record_membership(session, only_merged, _ids([merged]), now=clock.now())
    merge.merge_customers(session, "test", survivor, merged, "same phone")
    assert members(session, both.id) == [survivor, other]
    assert members(session, only_merged.id) == [survivor]
    assert session.scalar(select(Segment.member_count).where(Segment.id == both.id)) == 2
    assert merged not in {c for c, _ in changes(session, both.id)}


CSV = (
    "customer_id,name\n{a},甲\n{b},乙\nabc,丙\n999999999999,丁\n"
    "{merged},戊\n{a},甲\n{erased},己\n\n"
)


def test_static_upload_reports_each_bad_row_and_imports_the_rest(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    a, b, survivor, merged, erased = make_customers(session, 5)
    merge_into(session, merged, survivor)
    customer = session.get(Customer, erased)
    assert customer is not None
    customer.status = CustomerStatus.ERASED
    segment = make_segment(session)
    text = CSV.format(a=a, b=b, merged=merged, erased=erased)
    result = static.upload(session, ACTOR, segment.id, text.encode())
    assert result.rows == 7
    assert (result.imported, result.entered, result.exited, result.member_count) == (3, 3, 0, 3)
    assert [(p.row, p.value, p.code, p.survivor_id) for p in result.problems] == [
        (4, "abc", "invalid_id", None),
        (5, "999999999999", "unknown", None),
        (6, str(merged), "merged", survivor),
        (7, str(a), "duplicate", None),
        (8, str(erased), "erased", None),
    ]
    assert result.problem_counts == {
        "invalid_id": 1,
        "unknown": 1,
        "merged": 1,
        "duplicate": 1,
        "erased": 1,
    }
    assert members(session, segment.id) == sorted([a, b, survivor])
    # Replace: the next file is the whole list; append adds to it.
    again = static.upload(session, ACTOR, segment.id, f"{a}\n".encode())
    assert (again.entered, again.exited, again.member_count) == (0, 2, 1)
    more = static.upload(session, ACTOR, segment.id, f"{b}\n".encode(), append=True)
    assert (more.entered, more.exited, more.member_count) == (1, 0, 2)
    assert segment_events(session, "segment.exited", segment.id) == sorted([b, survivor])


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", StaticFileEmpty),
        (b"customer_id\n\n \n", StaticFileEmpty),
        (b"\xff\xfe\x00garbage", StaticFileUnreadable),
        (b"PK\x03\x04\x00\x00binary", StaticFileUnreadable),
    ],
)
def test_static_upload_refuses_bad_files_whole(
    session: Session, frozen_clock: clock.FrozenClock, raw: bytes, error: type[Exception]
) -> None:
    (customer,) = make_customers(session, 1)
    segment = make_segment(session)
    static.upload(session, ACTOR, segment.id, f"{customer}\n".encode())
    with pytest.raises(error):
        static.upload(session, ACTOR, segment.id, raw)
    assert members(session, segment.id) == [customer]


def test_static_upload_refuses_oversized_files(
    session: Session, frozen_clock: clock.FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    segment = make_segment(session)
    monkeypatch.setattr(static, "MAX_ROWS", 3)
    with pytest.raises(StaticFileTooLarge) as caught:
        static.upload(session, ACTOR, segment.id, b"1\n2\n3\n4\n")
    assert caught.value.status == 413
    assert caught.value.data == {"rows": 4, "max_rows": 3}
    monkeypatch.setattr(static, "MAX_BYTES", 4)
    with pytest.raises(StaticFileTooLarge):
        static.upload(session, ACTOR, segment.id, b"1\n2\n3")
    assert count(session, SegmentMember) == 0


def test_upload_into_a_rule_segment_is_refused(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    segment = make_segment(session, kind="rule", rule={"all": []})
    with pytest.raises(WrongSegmentKind):
        static.upload(session, ACTOR, segment.id, b"1\n")
