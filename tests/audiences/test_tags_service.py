"""Tag membership in bulk: sync_tag_members diffs, history, exclusive groups, counts,
channel codes writing history, and merges re-pointing history."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences import tasks as _tasks  # noqa: F401  (registers the re-pointers)
from siyu.audiences.tags import service as tags
from siyu.campaigns.channel_codes import attribution
from siyu.core import clock
from siyu.customers import merge
from siyu.models.customer import Tag
from tests.audiences.segments_helpers import history, holders, make_customers, merge_into


def _count(session: Session, tag_id: int) -> int:
    return int(session.scalar(select(Tag.customer_count).where(Tag.id == tag_id)) or 0)


def test_sync_adds_and_removes_exactly_the_difference_with_history(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = make_customers(session, 6)
    tag = tags.ensure_tag(session, "兴趣", "口红控", kind="rule")
    now = clock.now()

    assert tags.sync_tag_members(
        session, tag.id, pa.array(ids[:4], pa.int64()), source="rule:1", now=now
    ) == (4, 0)
    assert holders(session, tag.id) == ids[:4]
    assert _count(session, tag.id) == 4

    frozen_clock.advance(timedelta(hours=1))
    assert tags.sync_tag_members(
        session, tag.id, [ids[2], ids[3], ids[4], ids[4]], source="rule:1", now=clock.now()
    ) == (1, 2)
    assert holders(session, tag.id) == [ids[2], ids[3], ids[4]]
    assert _count(session, tag.id) == 3
    rows = history(session, tag_id=tag.id)
    assert rows[:4] == [(c, tag.id, "added", "rule:1") for c in ids[:4]]
    assert sorted(rows[4:]) == sorted(
        [
            (ids[0], tag.id, "removed", "rule:1"),
            (ids[1], tag.id, "removed", "rule:1"),
            (ids[4], tag.id, "added", "rule:1"),
        ]
    )
    # The same set again changes nothing and writes no history.
    assert tags.sync_tag_members(
        session, tag.id, [ids[2], ids[3], ids[4]], source="rule:1", now=clock.now()
    ) == (0, 0)
    assert len(history(session, tag_id=tag.id)) == 7


def test_sync_within_restrict_to_leaves_other_holders_alone(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = make_customers(session, 5)
    tag = tags.ensure_tag(session, "", "活跃", kind="rule")
    tags.sync_tag_members(session, tag.id, ids[:3], source="rule", now=clock.now())

    # Only ids[2] and ids[3] are re-evaluated: ids[2] leaves, ids[3] joins; ids[0..1] stay
    # although they are absent from the new list.
    result = tags.sync_tag_members(
        session,
        tag.id,
        [ids[3], ids[4]],
        source="rule",
        now=clock.now(),
        restrict_to=pa.array([ids[2], ids[3]], pa.int64()),
    )
    assert result == (1, 1)
    assert holders(session, tag.id) == [ids[0], ids[1], ids[3]]
    assert _count(session, tag.id) == 3


def test_sync_skips_merged_and_unknown_customers(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = make_customers(session, 3)
    merge_into(session, ids[2], ids[0])
    tag = tags.ensure_tag(session, "", "高价值", kind="rule")
    added, removed = tags.sync_tag_members(
        session, tag.id, [ids[0], ids[1], ids[2], 2**62], source="rule", now=clock.now()
    )
    assert (added, removed) == (2, 0)
    assert holders(session, tag.id) == [ids[0], ids[1]]


def test_exclusive_group_replaces_the_old_tag_with_history(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    (customer, other) = make_customers(session, 2)
    tags.ensure_group(session, "肤质", is_exclusive=True)
    dry = tags.ensure_tag(session, "肤质", "干性")
    oily = tags.ensure_tag(session, "肤质", "油性")
    liked = tags.ensure_tag(session, "兴趣", "香水")
    now = clock.now()
    assert (
        tags.add_links(
            session,
            [tags.Link(customer, dry.id, "staff:amy"), tags.Link(customer, liked.id, "staff:amy")],
            now=now,
        )
        == 2
    )
    assert tags.add_links(session, [tags.Link(customer, oily.id, "staff:bob")], now=now) == 1
    assert holders(session, dry.id) == []
    assert holders(session, oily.id) == [customer]
    # Tags outside the exclusive group are untouched.
    assert holders(session, liked.id) == [customer]
    assert history(session, customer_id=customer) == [
        (customer, dry.id, "added", "staff:amy"),
        (customer, liked.id, "added", "staff:amy"),
        (customer, dry.id, "removed", "staff:bob"),
        (customer, oily.id, "added", "staff:bob"),
    ]
    assert (_count(session, dry.id), _count(session, oily.id)) == (0, 1)
    # Two tags of one exclusive group in one call: the last wins.
    assert (
        tags.add_links(
            session,
            [tags.Link(other, oily.id, "import:a.csv"), tags.Link(other, dry.id, "import:a.csv")],
            now=now,
        )
        == 1
    )
    assert holders(session, dry.id) == [other]


def test_rule_sync_in_exclusive_group_displaces_siblings(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = make_customers(session, 3)
    tags.ensure_group(session, "RFM", is_exclusive=True)
    first = tags.ensure_tag(session, "RFM", "重要价值", kind="rule")
    second = tags.ensure_tag(session, "RFM", "一般价值", kind="rule")
    now = clock.now()
    tags.sync_tag_members(session, first.id, ids, source="rfm", now=now)
    tags.sync_tag_members(session, second.id, [ids[1]], source="rfm", now=now)
    assert holders(session, first.id) == [ids[0], ids[2]]
    assert holders(session, second.id) == [ids[1]]
    assert (_count(session, first.id), _count(session, second.id)) == (2, 1)


def test_remove_links_only_touches_holders(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = make_customers(session, 3)
    tag = tags.ensure_tag(session, "", "VIP")
    tags.add_links(session, [tags.Link(c, tag.id, "staff:amy") for c in ids[:2]], now=clock.now())
    assert tags.remove_links(session, tag.id, ids, source="staff:bob", now=clock.now()) == 2
    assert holders(session, tag.id) == []
    assert _count(session, tag.id) == 0
    assert [row[2:] for row in history(session, tag_id=tag.id)] == [
        ("added", "staff:amy"),
        ("added", "staff:amy"),
        ("removed", "staff:bob"),
        ("removed", "staff:bob"),
    ]


def test_channel_code_tags_write_history_once(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    (customer,) = make_customers(session, 1)
    ids = attribution.ensure_tags(session, ["门店扫码"])
    tag_id = ids["门店扫码"]
    link = [tags.Link(customer, tag_id, "channel_code:abc")]
    assert tags.add_links(session, link, now=clock.now()) == 1
    assert tags.add_links(session, link, now=clock.now()) == 0
    assert history(session, tag_id=tag_id) == [(customer, tag_id, "added", "channel_code:abc")]


def test_merge_moves_tag_history_to_the_survivor(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    survivor, merged = make_customers(session, 2)
    tag = tags.ensure_tag(session, "", "老客")
    tags.add_links(session, [tags.Link(merged, tag.id, "staff:amy")], now=clock.now())
    merge.merge_customers(session, "test", survivor, merged, "same phone")
    assert history(session, tag_id=tag.id) == [(survivor, tag.id, "added", "staff:amy")]
    assert holders(session, tag.id) == [survivor]
