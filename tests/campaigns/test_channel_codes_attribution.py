"""Attribution: first touch once, last touch forward only, guide only when empty, tags once."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.channel_codes import attribution
from siyu.campaigns.channel_codes import service as code_service
from siyu.campaigns.channel_codes.attribution import Touch, VisitHow
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.models.channel_code import ChannelCodeVisit
from siyu.models.customer import Customer, CustomerStaffLink, CustomerTag, Tag
from siyu.models.staff import Role
from tests.campaigns.factories import make_channel_code
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff


def touch(
    customer: Customer,
    code_id: int,
    *,
    minutes: int = 0,
    how: str = VisitHow.VISIT,
    new: bool = False,
    touchpoint: str | None = "h5",
) -> Touch:
    return Touch(
        customer_id=customer.id,
        channel_code_id=code_id,
        touchpoint=touchpoint,
        how=how,
        at=clock.now() + timedelta(minutes=minutes),
        is_new_customer=new,
    )


def test_lookup_codes_returns_only_existing_codes_with_their_rules(session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE], store_id=7)
    active = make_channel_code(
        session, code="look-a", guide_id=guide.id, store_id=7, tag_names=["VIP"]
    )
    inactive = make_channel_code(session, code="look-b", is_active=False)

    refs = attribution.lookup_codes(session, ["look-a", "look-b", "missing", ""])

    assert set(refs) == {"look-a", "look-b"}
    assert refs["look-a"] == attribution.ChannelCodeRef(
        id=active.id,
        code="look-a",
        is_active=True,
        guide_id=guide.id,
        store_id=7,
        tag_names=("VIP",),
    )
    assert refs["look-b"].id == inactive.id
    assert refs["look-b"].is_active is False
    assert attribution.lookup_codes(session, []) == {}


def test_first_touch_is_never_overwritten_and_last_touch_only_moves_forward(
    session: Session, frozen_clock: FrozenClock
) -> None:
    first = make_channel_code(session, code="first-code")
    second = make_channel_code(session, code="second-code")
    customer = make_customer(session, make_cipher())

    attribution.apply_touches(session, [touch(customer, first.id, minutes=10, new=True)])
    session.refresh(customer)
    assert customer.first_touch_channel_code_id == first.id
    assert customer.first_touchpoint == "h5"
    assert customer.first_touch_at == clock.now() + timedelta(minutes=10)
    assert customer.last_touch_channel_code_id == first.id

    # Later through the second code: first touch stays, last touch moves.
    attribution.apply_touches(session, [touch(customer, second.id, minutes=20, touchpoint="mp")])
    session.refresh(customer)
    assert customer.first_touch_channel_code_id == first.id
    assert customer.first_touch_at == clock.now() + timedelta(minutes=10)
    assert customer.last_touch_channel_code_id == second.id
    assert customer.last_touchpoint == "mp"
    assert customer.last_touch_at == clock.now() + timedelta(minutes=20)

    # A late-arriving older visit changes neither.
    attribution.apply_touches(session, [touch(customer, first.id, minutes=5)])
    session.refresh(customer)
    assert customer.first_touch_channel_code_id == first.id
    assert customer.first_touch_at == clock.now() + timedelta(minutes=10)
    assert customer.last_touch_channel_code_id == second.id
    assert customer.last_touch_at == clock.now() + timedelta(minutes=20)
    visits = session.scalar(select(func.count()).where(ChannelCodeVisit.customer_id == customer.id))
    assert visits == 3


def test_a_batch_uses_its_earliest_touch_as_first_and_latest_as_last(
    session: Session, frozen_clock: FrozenClock
) -> None:
    early = make_channel_code(session, code="batch-early")
    late = make_channel_code(session, code="batch-late")
    customer = make_customer(session, make_cipher())

    # Out of order on purpose: the batch is not sorted by time.
    attribution.apply_touches(
        session,
        [touch(customer, late.id, minutes=30), touch(customer, early.id, minutes=1, new=True)],
    )
    session.refresh(customer)
    assert customer.first_touch_channel_code_id == early.id
    assert customer.last_touch_channel_code_id == late.id


def test_guide_and_store_are_assigned_only_when_empty(session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    other_guide = make_staff(session, roles=[Role.GUIDE])
    code = make_channel_code(session, code="guide-code", guide_id=guide.id, store_id=3)
    unowned = make_customer(session, make_cipher())
    owned = make_customer(session, make_cipher(), guide_id=other_guide.id, store_id=9)

    attribution.apply_touches(session, [touch(unowned, code.id), touch(owned, code.id)])

    session.refresh(unowned)
    session.refresh(owned)
    assert (unowned.guide_id, unowned.store_id) == (guide.id, 3)
    assert (owned.guide_id, owned.store_id) == (other_guide.id, 9)


def test_tags_are_created_once_and_applied_once(session: Session) -> None:
    code = make_channel_code(session, code="tag-code", tag_names=["小红书", "兴趣:护肤"])
    customer = make_customer(session, make_cipher())

    attribution.apply_touches(session, [touch(customer, code.id), touch(customer, code.id)])
    attribution.apply_touches(session, [touch(customer, code.id, minutes=1)])

    tags = session.execute(
        select(Tag.group_name, Tag.name, CustomerTag.source)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.customer_id == customer.id)
        .order_by(Tag.group_name)
    ).all()
    assert [tuple(row) for row in tags] == [
        ("兴趣", "护肤", "channel_code:tag-code"),
        ("渠道", "小红书", "channel_code:tag-code"),
    ]
    assert session.scalar(select(func.count()).select_from(Tag).where(Tag.name == "护肤")) == 1


def test_touches_for_unknown_code_ids_are_ignored(session: Session) -> None:
    customer = make_customer(session, make_cipher())
    attribution.apply_touches(session, [touch(customer, 987654321)])
    session.refresh(customer)
    assert customer.first_touch_at is None
    assert session.scalar(select(func.count()).select_from(ChannelCodeVisit)) == 0


def test_record_wecom_add_links_staff_and_attributes_a_known_state(session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    code = make_channel_code(session, code="wecom-state", tag_names=["企微"])
    customer = make_customer(session, make_cipher())

    added = attribution.record_wecom_add(
        session,
        customer_id=customer.id,
        staff_id=guide.id,
        corp_id="ww1",
        external_userid="wmABC",
        state="wecom-state",
        at=clock.now(),
        is_new_customer=True,
    )
    again = attribution.record_wecom_add(
        session,
        customer_id=customer.id,
        staff_id=guide.id,
        corp_id="ww1",
        external_userid="wmABC",
        state="not-a-code",
        at=clock.now() + timedelta(minutes=1),
        is_new_customer=False,
    )

    assert added == attribution.WecomAdd(customer.id, guide.id, code.id)
    assert again == attribution.WecomAdd(customer.id, guide.id, None)
    links = session.scalars(
        select(CustomerStaffLink).where(CustomerStaffLink.customer_id == customer.id)
    ).all()
    assert [(link.staff_id, link.state) for link in links] == [(guide.id, "wecom-state")]
    counted = code_service.stats(session, [code.id])[code.id]
    assert counted == code_service.ChannelCodeStats(
        scans=0, new_customers=1, returning_customers=0, wecom_adds=1
    )
    session.refresh(customer)
    assert customer.first_touchpoint == "wecom"


def test_stats_count_scans_new_returning_and_wecom_adds_in_a_range(
    session: Session, frozen_clock: FrozenClock
) -> None:
    code = make_channel_code(session, code="stats-code")
    other = make_channel_code(session, code="stats-other")
    new_one, new_two, returning = (make_customer(session, make_cipher()) for _ in range(3))
    for minutes in (0, 1, 2):
        code_service.record_scan(session, code, at=clock.now() + timedelta(minutes=minutes))
    attribution.apply_touches(
        session,
        [
            touch(new_one, code.id, new=True),
            touch(new_one, code.id, minutes=5),  # a later visit keeps them "new"
            touch(new_two, code.id, how=VisitHow.WECOM_ADD, new=True),
            touch(returning, code.id, minutes=3),
            touch(returning, code.id, minutes=4),
            touch(returning, other.id, new=True),
        ],
    )

    everything = code_service.stats(session, [code.id, other.id])
    assert everything[code.id] == code_service.ChannelCodeStats(
        scans=3, new_customers=2, returning_customers=1, wecom_adds=1
    )
    assert everything[other.id] == code_service.ChannelCodeStats(
        scans=0, new_customers=1, returning_customers=0, wecom_adds=0
    )
    # [now+2min, now+5min): one scan, and only the returning customer's visits.
    window = code_service.stats(
        session,
        [code.id],
        since=clock.now() + timedelta(minutes=2),
        until=clock.now() + timedelta(minutes=5),
    )[code.id]
    assert window == code_service.ChannelCodeStats(
        scans=1, new_customers=0, returning_customers=1, wecom_adds=0
    )


def _concurrent_touches(factory: sessionmaker[Session], touches: list[list[Touch]]) -> None:
    barrier = threading.Barrier(len(touches))
    failures: list[BaseException] = []

    def work(batch: list[Touch]) -> None:
        try:
            with transaction(factory) as session:
                barrier.wait(timeout=10)
                attribution.apply_touches(session, batch)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(batch,)) for batch in touches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []


def test_concurrent_touches_of_one_new_customer_set_one_first_touch(
    session_factory: sessionmaker[Session], db_url: str
) -> None:
    with transaction(session_factory) as setup:
        guide_a = make_staff(setup, roles=[Role.GUIDE])
        guide_b = make_staff(setup, roles=[Role.GUIDE])
        code_a = make_channel_code(setup, code="race-a", guide_id=guide_a.id, tag_names=["同标签"])
        code_b = make_channel_code(setup, code="race-b", guide_id=guide_b.id, tag_names=["同标签"])
        customer = make_customer(setup, make_cipher())
        ids = (customer.id, code_a.id, code_b.id, guide_a.id, guide_b.id)
    customer_id, code_a_id, code_b_id, guide_a_id, guide_b_id = ids
    at = clock.now()

    def batch(code_id: int) -> list[Touch]:
        return [Touch(customer_id, code_id, "h5", VisitHow.VISIT, at, True)]

    _concurrent_touches(session_factory, [batch(code_a_id), batch(code_b_id)])

    with transaction(session_factory) as check:
        stored = check.get(Customer, customer_id)
        assert stored is not None
        # Exactly one of the two won, and the same one for first touch and guide.
        assert stored.first_touch_channel_code_id in {code_a_id, code_b_id}
        winner_guide = guide_a_id if stored.first_touch_channel_code_id == code_a_id else guide_b_id
        assert stored.guide_id == winner_guide
        assert check.scalar(select(func.count()).select_from(ChannelCodeVisit)) == 2
        assert check.scalar(select(func.count()).select_from(Tag)) == 1
        assert check.scalar(select(func.count()).select_from(CustomerTag)) == 1
