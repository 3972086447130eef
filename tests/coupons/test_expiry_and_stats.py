"""The daily expiry and reminder jobs (frozen clock), statistics, merges, write-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.coupons import expiry, issuing, stats, writeoff
from siyu.customers.merge import merge_customers
from siyu.models.coupon import (
    Coupon,
    CouponKind,
    CouponScope,
    CouponSource,
    CouponStatus,
    CouponTally,
    ValidityKind,
)
from siyu.models.job import Job
from siyu.models.staff import Role
from tests.coupons.factories import buy, events_named, give, make_template, snapshot
from tests.customers.factories import make_customer
from tests.factories import make_staff, principal_of
from tests.orders.factories import make_shelf, pay


def test_expire_and_remind_jobs(
    session: Session, frozen_clock: clock.FrozenClock, settings: Settings, cipher: PiiCipher
) -> None:
    customer = make_customer(session, cipher)
    template = make_template(session, validity=ValidityKind.RELATIVE, valid_days=5)
    coupon = give(session, template, customer.id)
    lasting = give(
        session, make_template(session, validity=ValidityKind.RELATIVE, valid_days=30), customer.id
    )
    assert expiry.remind_due(session) == 0  # five days left, reminders go at three
    frozen_clock.advance(days=2, seconds=1)
    assert expiry.remind_due(session) == 1
    assert expiry.remind_due(session) == 0  # once per coupon
    assert [p["coupon_id"] for p in events_named(session, "coupon.expiring")] == [coupon.id]
    frozen_clock.advance(days=3)
    assert expiry.expire_due(session) == 1
    assert expiry.expire_due(session) == 0
    session.expire_all()
    assert session.get_one(Coupon, coupon.id).status == CouponStatus.EXPIRED
    assert session.get_one(Coupon, coupon.id).expired_at == frozen_clock.now()
    assert session.get_one(Coupon, lasting.id).status == CouponStatus.AVAILABLE
    assert [p["coupon_id"] for p in events_named(session, "coupon.expired")] == [coupon.id]


def test_the_job_chain_reschedules_itself_daily(
    session: Session, frozen_clock: clock.FrozenClock, settings: Settings
) -> None:
    expiry.schedule(session)
    expiry.schedule(session)  # idempotent: one job per task per day
    jobs = session.scalars(
        select(Job).where(Job.task.in_([expiry.EXPIRE_TASK, expiry.REMIND_TASK]))
    ).all()
    # 10:00 in Shanghai now; the next run is 00:05 tomorrow local = 16:05 UTC today.
    assert sorted(job.task for job in jobs) == [expiry.EXPIRE_TASK, expiry.REMIND_TASK]
    assert {job.run_at for job in jobs} == {frozen_clock.now().replace(hour=16, minute=5)}
    frozen_clock.set(frozen_clock.now().replace(hour=16, minute=5))
    expiry.run_expire(session, {})
    runs = sorted(
        job.run_at for job in session.scalars(select(Job).where(Job.task == expiry.EXPIRE_TASK))
    )
    assert runs[-1] - runs[0] == timedelta(days=1)


def test_statistics_are_exact(session: Session, cipher: PiiCipher, settings: Settings) -> None:
    shelf = make_shelf(session)
    template = make_template(
        session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=1000
    )
    buyers = [make_customer(session, cipher) for _ in range(4)]
    codes = [give(session, template, buyer.id).code for buyer in buyers[:3]]
    issuing.issue(session, template.id, buyers[3].id, source=CouponSource.CLAIM)
    paid, _ = buy(
        session,
        cipher,
        settings,
        customer_id=buyers[0].id,
        items=[(shelf.skus[0].id, 1)],
        coupon_code=codes[0],
    )
    pay(session, settings, paid)
    buy(
        session,
        cipher,
        settings,
        customer_id=buyers[1].id,
        items=[(shelf.skus[1].id, 1)],
        coupon_code=codes[1],
    )
    expired = session.scalars(select(Coupon).where(Coupon.code == codes[2])).one()
    expired.status = CouponStatus.EXPIRED
    session.flush()
    session.refresh(template)
    figures = stats.for_templates(session, [template])[template.id]
    assert figures.model_dump() == {
        "issued": 4,
        "claimed_by_source": {"claim": 1, "grant": 3},
        "used": 2,
        "written_off": 0,
        "expired": 1,
        "available": 1,
        "revoked": 0,
        # Only the paid order counts: 129.00 − 10.00 = 119.00.
        "orders": 1,
        "gmv": 11900,
        "discount_cost": 1000,
    }


def test_merge_moves_coupons_and_adds_up_tallies(session: Session, cipher: PiiCipher) -> None:
    survivor, merged = make_customer(session, cipher), make_customer(session, cipher)
    template = make_template(session, per_customer_limit=3)
    give(session, template, survivor.id)
    give(session, template, merged.id)
    give(session, template, merged.id)
    merge_customers(session, "test", survivor.id, merged.id, "same phone")
    assert len(session.scalars(select(Coupon).where(Coupon.customer_id == survivor.id)).all()) == 3
    tally = session.get_one(CouponTally, (template.id, survivor.id))
    assert tally.claimed_total == 3
    assert session.get(CouponTally, (template.id, merged.id)) is None
    with pytest.raises(SiyuError) as refused:
        give(session, template, survivor.id)
    assert refused.value.code == "coupon.limit_reached"


def test_write_off_at_the_till(session: Session, cipher: PiiCipher) -> None:
    shelf = make_shelf(session)
    other_store = make_shelf(session).store
    customer = make_customer(session, cipher)
    template = make_template(
        session, scope=CouponScope.STORES, scope_ids=[shelf.store.id], channels=["store"]
    )
    mall_only = make_template(session, channels=["mall"])
    code = give(session, template, customer.id).code
    mall_code = give(session, mall_only, customer.id).code
    guide = principal_of(make_staff(session, roles=[Role.GUIDE], store_id=shelf.store.id))
    elsewhere = principal_of(make_staff(session, roles=[Role.GUIDE], store_id=other_store.id))
    operator = principal_of(make_staff(session, roles=[Role.OPERATOR]))
    cases = [
        (elsewhere, code, shelf.store.id, "coupon.store_not_allowed"),
        (operator, code, other_store.id, "coupon.not_applicable"),
        (guide, mall_code, shelf.store.id, "coupon.not_applicable"),
        (guide, "NOSUCHCODE", shelf.store.id, "coupon.not_found"),
    ]
    for principal, which, store_id, error_code in cases:
        before = snapshot(session)
        with pytest.raises(SiyuError) as refused:
            writeoff.write_off(session, principal, which, store_id)
        assert refused.value.code == error_code
        assert snapshot(session) == before
    coupon, _ = writeoff.write_off(session, guide, code.lower(), shelf.store.id)
    assert (coupon.status, coupon.used_store_id, coupon.redeemed_by) == (
        CouponStatus.USED,
        shelf.store.id,
        guide.username,
    )
    with pytest.raises(SiyuError) as again:
        writeoff.write_off(session, guide, code, shelf.store.id)
    assert again.value.code == "coupon.already_used"
    session.refresh(template)
    assert stats.for_templates(session, [template])[template.id].written_off == 1
