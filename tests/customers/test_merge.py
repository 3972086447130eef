"""merge_customers(): what moves, what is kept, and the merge record."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.customers import merge
from siyu.customers.errors import IdentityConflictError, InvalidMerge
from siyu.customers.identify import IdentityInput, identify, resolve_customer_id
from siyu.customers.merge import merge_customers
from siyu.models.customer import (
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerStaffLink,
    CustomerStatus,
    CustomerTag,
    Tag,
)
from siyu.models.outbox import OutboxEvent
from siyu.models.tracking import TrackedEvent
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff

cipher = make_cipher()


def _event(session: Session, customer_id: int, event_id: str) -> None:
    now = clock.now()
    session.add(
        TrackedEvent(
            event_id=event_id,
            customer_id=customer_id,
            type="page_view",
            occurred_at=now,
            received_at=now,
            context={},
            properties={},
        )
    )


def _tag(session: Session, customer_id: int, tag: Tag) -> None:
    session.add(
        CustomerTag(customer_id=customer_id, tag_id=tag.id, source="test", added_at=clock.now())
    )


def test_merge_repoints_everything_and_records_it(session: Session) -> None:
    now = clock.now()
    survivor = make_customer(
        session, cipher, identities=[IdentityInput("unionid", "u1")], name="老王"
    )
    merged = make_customer(
        session,
        cipher,
        identities=[IdentityInput("phone", "13900001111"), IdentityInput("anonymous_id", "d1")],
    )
    earlier_child = make_customer(session, cipher)
    earlier_child.status = CustomerStatus.MERGED
    earlier_child.merged_into_id = merged.id
    survivor.consent = {"marketing": False}
    survivor.first_touch_at = now - timedelta(days=1)
    survivor.first_touchpoint = "h5"
    merged.consent = {"marketing": True, "analytics": True}
    merged.city = "上海"
    merged.name = "王先生"
    merged.birthday = date(1990, 1, 1)
    merged.first_touch_at = now - timedelta(days=9)
    merged.first_touchpoint = "store"
    merged.last_touch_at = now
    merged.last_touchpoint = "mini_program"
    shared_tag, own_tag = Tag(name="vip"), Tag(name="new")
    session.add_all([shared_tag, own_tag])
    session.flush()
    _tag(session, survivor.id, shared_tag)
    _tag(session, merged.id, shared_tag)
    _tag(session, merged.id, own_tag)
    guide, other_guide = make_staff(session), make_staff(session)
    session.add_all(
        [
            CustomerStaffLink(customer_id=survivor.id, staff_id=guide.id, added_at=now, state="s"),
            CustomerStaffLink(
                customer_id=merged.id,
                staff_id=guide.id,
                added_at=now - timedelta(days=3),
                state="m",
            ),
            CustomerStaffLink(customer_id=merged.id, staff_id=other_guide.id, added_at=now),
        ]
    )
    for index in range(3):
        _event(session, merged.id, f"ev-{index}")
    session.flush()

    record = merge_customers(session, "alice", survivor.id, merged.id, "duplicate")

    assert record.moved == {
        "customer_identity": 2,
        "customer_staff_link": 2,
        "customer_tag": 1,
        "tracked_event": 3,
        "customer.merged_into": 1,
    }
    assert (record.actor, record.reason) == ("alice", "duplicate")
    events = session.scalars(select(TrackedEvent.customer_id)).all()
    assert events == [survivor.id] * 3
    tags = session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id)).all()
    assert sorted(tags) == sorted([(survivor.id, shared_tag.id), (survivor.id, own_tag.id)])
    links = session.scalars(select(CustomerStaffLink).order_by(CustomerStaffLink.staff_id)).all()
    assert [(link.customer_id, link.staff_id, link.state) for link in links] == [
        (survivor.id, guide.id, "m"),  # the earlier relation wins
        (survivor.id, other_guide.id, None),
    ]
    kept = session.get(Customer, survivor.id)
    gone = session.get(Customer, merged.id)
    child = session.get(Customer, earlier_child.id)
    assert kept is not None
    assert gone is not None
    assert child is not None
    assert (kept.name, kept.city, kept.birthday) == ("老王", "上海", date(1990, 1, 1))
    assert kept.consent == {"marketing": False, "analytics": True}
    assert (kept.first_touch_at, kept.first_touchpoint) == (now - timedelta(days=9), "store")
    assert (kept.last_touch_at, kept.last_touchpoint) == (now, "mini_program")
    assert (gone.status, gone.merged_into_id) == (CustomerStatus.MERGED, survivor.id)
    assert child.merged_into_id == survivor.id  # chains stay one hop
    assert resolve_customer_id(session, earlier_child.id) == survivor.id
    outbox = session.scalars(select(OutboxEvent).where(OutboxEvent.name == "customer.merged")).one()
    assert outbox.payload == {"survivor_id": survivor.id, "merged_id": merged.id}
    assert session.scalar(select(func.count()).select_from(CustomerMerge)) == 1


def test_registered_repointer_runs_inside_the_merge(session: Session) -> None:
    calls: list[tuple[int, int]] = []

    def fake(_session: Session, survivor_id: int, merged_id: int) -> int:
        calls.append((survivor_id, merged_id))
        return 7

    merge.register_repointer("test_fake_orders", fake)
    try:
        first, second = make_customer(session, cipher), make_customer(session, cipher)
        record = merge_customers(session, "bob", first.id, second.id, "test")
    finally:
        merge._repointers.pop("test_fake_orders")
    assert calls == [(first.id, second.id)]
    assert record.moved == {"test_fake_orders": 7}
    merge.register_repointer("test_twice", fake)
    try:
        with pytest.raises(ValueError, match="already registered"):
            merge.register_repointer("test_twice", fake)
    finally:
        merge._repointers.pop("test_twice")


def test_merge_refuses_self_and_inactive(session: Session) -> None:
    first, second = make_customer(session, cipher), make_customer(session, cipher)
    with pytest.raises(InvalidMerge):
        merge_customers(session, "a", first.id, first.id, "x")
    merge_customers(session, "a", first.id, second.id, "x")
    with pytest.raises(InvalidMerge):
        merge_customers(session, "a", first.id, second.id, "again")


def test_identify_refuses_to_merge_two_customers_with_different_phones(session: Session) -> None:
    one = make_customer(
        session,
        cipher,
        identities=[IdentityInput("unionid", "u1"), IdentityInput("phone", "13900001111")],
    )
    two = make_customer(
        session,
        cipher,
        identities=[IdentityInput("member_no", "m1"), IdentityInput("phone", "13900002222")],
    )
    with pytest.raises(IdentityConflictError) as caught:
        identify(
            session,
            cipher,
            None,
            [IdentityInput("unionid", "u1"), IdentityInput("member_no", "M1")],
            None,
            source="test",
        )
    assert caught.value.status == 409
    assert caught.value.data == {
        "kind": "phone",
        "namespace": "",
        "customer_ids": sorted([one.id, two.id]),
    }
    # Nothing moved.
    owners = session.execute(select(CustomerIdentity.customer_id)).scalars().all()
    assert sorted(owners) == sorted([one.id, one.id, two.id, two.id])
    assert session.scalar(select(func.count()).select_from(CustomerMerge)) == 0
