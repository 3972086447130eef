"""Birthday, anniversary and member-day benefits: once per period, in each member's
own time zone, whatever the number of runs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.members import benefits, benefits_tasks
from siyu.models.coupon import Coupon
from siyu.models.job import Job
from siyu.models.member import BenefitGrant, Membership, MemberTier
from tests.members.mall_factories import (
    available_points,
    cipher,
    event_payloads,
    make_member,
    make_template,
    set_program,
    settings,
)

__all__ = ["cipher", "settings"]

SHANGHAI = "Asia/Shanghai"
LOS_ANGELES = "America/Los_Angeles"


def _grants(session: Session, customer_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        select(BenefitGrant.kind, BenefitGrant.period)
        .where(BenefitGrant.customer_id == customer_id)
        .order_by(BenefitGrant.id)
    )
    return [(row.kind, row.period) for row in rows]


def _coupons(session: Session, customer_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Coupon).where(Coupon.customer_id == customer_id)
        )
        or 0
    )


def test_falls_on_moves_29_february_to_28_in_other_years() -> None:
    leapling = date(2000, 2, 29)
    assert benefits.falls_on(leapling, date(2027, 2, 28)) is True
    assert benefits.falls_on(leapling, date(2027, 3, 1)) is False
    assert benefits.falls_on(leapling, date(2028, 2, 28)) is False
    assert benefits.falls_on(leapling, date(2028, 2, 29)) is True
    assert benefits.falls_on(date(1990, 2, 28), date(2028, 2, 28)) is True
    assert benefits.falls_on(date(1990, 2, 28), date(2028, 2, 29)) is False


def test_birthday_follows_each_members_time_zone_and_is_granted_once(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    template = make_template(session)
    set_program(
        session, birthday={"enabled": True, "points": 200, "coupon_template_id": template.id}
    )
    # 03:00 UTC: 11:00 on 15 March in Shanghai, still 20:00 on 14 March in Los Angeles.
    frozen_clock.set(datetime(2026, 3, 15, 3, 0, tzinfo=UTC))
    shanghai = make_member(session, cipher, timezone=SHANGHAI, birthday=date(1990, 3, 15))
    la_tomorrow = make_member(session, cipher, timezone=LOS_ANGELES, birthday=date(1990, 3, 15))
    la_today = make_member(session, cipher, timezone=LOS_ANGELES, birthday=date(1985, 3, 14))
    not_today = make_member(session, cipher, timezone=SHANGHAI, birthday=date(1990, 3, 16))

    assert benefits.run_all(session) == {"birthday": 2}
    assert benefits.run_all(session) == {}
    assert _grants(session, shanghai.id) == [("birthday", "2026")]
    assert _grants(session, la_today.id) == [("birthday", "2026")]
    assert _grants(session, la_tomorrow.id) == []
    assert _grants(session, not_today.id) == []
    assert available_points(session, shanghai.id) == 200
    assert _coupons(session, shanghai.id) == 1

    # 08:00 UTC: 01:00 on 15 March in Los Angeles.
    frozen_clock.set(datetime(2026, 3, 15, 8, 0, tzinfo=UTC))
    assert benefits.run_all(session) == {"birthday": 1}
    assert benefits.run_all(session, batch_size=1) == {}
    assert _grants(session, la_tomorrow.id) == [("birthday", "2026")]
    for member in (shanghai, la_today, la_tomorrow):
        assert available_points(session, member.id) == 200
        assert _coupons(session, member.id) == 1
    granted = event_payloads(session, benefits.BENEFIT_GRANTED)
    assert sorted(payload["customer_id"] for payload in granted) == sorted(
        [shanghai.id, la_today.id, la_tomorrow.id]
    )
    assert {payload["local_date"] for payload in granted} == {"2026-03-15", "2026-03-14"}
    grant = session.scalars(
        select(BenefitGrant).where(BenefitGrant.customer_id == la_today.id)
    ).one()
    assert grant.local_date == date(2026, 3, 14)
    assert grant.detail["points"] == 200
    assert len(grant.detail["coupon_ids"]) == 1


def test_leap_day_birthday_is_celebrated_on_28_february_in_common_years(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    set_program(session, birthday={"enabled": True, "points": 50})
    frozen_clock.set(datetime(2027, 2, 28, 4, 0, tzinfo=UTC))
    leapling = make_member(session, cipher, birthday=date(2000, 2, 29))
    assert benefits.run_all(session) == {"birthday": 1}
    frozen_clock.set(datetime(2027, 3, 1, 4, 0, tzinfo=UTC))
    assert benefits.run_all(session) == {}
    frozen_clock.set(datetime(2028, 2, 28, 4, 0, tzinfo=UTC))
    assert benefits.run_all(session) == {}
    frozen_clock.set(datetime(2028, 2, 29, 4, 0, tzinfo=UTC))
    assert benefits.run_all(session) == {"birthday": 1}
    assert _grants(session, leapling.id) == [("birthday", "2027"), ("birthday", "2028")]
    assert available_points(session, leapling.id) == 100


def test_tier_birthday_gift_adds_to_the_programs(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    template = make_template(session)
    set_program(session, birthday={"enabled": True, "points": 100})
    frozen_clock.set(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    member = make_member(session, cipher, birthday=date(1995, 6, 1))
    tier = session.get(MemberTier, session.get(Membership, member.id).tier_id)  # type: ignore[union-attr]
    assert tier is not None
    tier.birthday_points = 30
    tier.birthday_coupon_template_id = template.id
    session.flush()
    assert benefits.run_all(session) == {"birthday": 1}
    assert available_points(session, member.id) == 130
    assert _coupons(session, member.id) == 1


def test_anniversary_from_the_first_full_year_in_local_time(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    set_program(session, anniversary={"enabled": True, "points": 88})
    # Joined at 20:00 UTC on 15 March 2025: already 16 March in Shanghai.
    frozen_clock.set(datetime(2026, 3, 16, 2, 0, tzinfo=UTC))
    veteran = make_member(session, cipher, joined_at=datetime(2025, 3, 15, 20, 0, tzinfo=UTC))
    newcomer = make_member(session, cipher, joined_at=datetime(2026, 3, 15, 20, 0, tzinfo=UTC))
    assert benefits.run_all(session) == {"anniversary": 1}
    assert _grants(session, veteran.id) == [("anniversary", "2026")]
    assert _grants(session, newcomer.id) == []
    assert available_points(session, veteran.id) == 88


def test_exhausted_benefit_coupon_keeps_the_points_and_records_why(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    template = make_template(session, total_quantity=1)
    set_program(
        session, birthday={"enabled": True, "points": 10, "coupon_template_id": template.id}
    )
    frozen_clock.set(datetime(2026, 7, 7, 2, 0, tzinfo=UTC))
    first = make_member(session, cipher, birthday=date(1990, 7, 7))
    second = make_member(session, cipher, birthday=date(1991, 7, 7))
    assert benefits.run_all(session) == {"birthday": 2}
    assert _coupons(session, first.id) == 1
    assert _coupons(session, second.id) == 0
    assert available_points(session, second.id) == 10
    grant = session.scalars(select(BenefitGrant).where(BenefitGrant.customer_id == second.id)).one()
    assert grant.detail["coupon_errors"] == [
        {"template_id": template.id, "code": "coupon.exhausted"}
    ]


def test_member_day_multiplier_and_discount_in_the_members_zone(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    set_program(
        session,
        member_day={
            "enabled": True,
            "day_of_month": 8,
            "points_multiplier": 200,
            "discount_rate": 9500,
        },
    )
    shanghai = make_member(session, cipher, timezone=SHANGHAI)
    los_angeles = make_member(session, cipher, timezone=LOS_ANGELES)
    # 17:00 UTC on 7 December: 01:00 on the 8th in Shanghai, 09:00 on the 7th in LA.
    at = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    assert benefits.points_multiplier_for(session, shanghai.id, at) == 200
    assert benefits.points_multiplier_for(session, los_angeles.id, at) == 100
    assert benefits.member_day_discount_rate(session, shanghai.id, at) == 9500
    assert benefits.member_day_discount_rate(session, los_angeles.id, at) == 10000
    later = datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    assert benefits.points_multiplier_for(session, los_angeles.id, later) == 200
    assert benefits.points_multiplier_for(session, shanghai.id, later) == 100
    set_program(session, member_day={"enabled": False, "day_of_month": 8, "points_multiplier": 200})
    assert benefits.points_multiplier_for(session, shanghai.id, at) == 100


def test_member_day_coupon_once_a_month_per_member(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    template = make_template(session)
    set_program(
        session,
        member_day={"enabled": True, "day_of_month": 8, "coupon_template_id": template.id},
    )
    frozen_clock.set(datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    members = [make_member(session, cipher) for _ in range(3)]
    assert benefits.run_all(session, batch_size=2) == {"member_day": 3}
    assert benefits.run_all(session) == {}
    for member in members:
        assert _grants(session, member.id) == [("member_day", "2026-12")]
        assert _coupons(session, member.id) == 1
    frozen_clock.set(datetime(2027, 1, 8, 2, 0, tzinfo=UTC))
    assert benefits.run_all(session) == {"member_day": 3}


def test_job_reschedules_the_next_hour_and_chains_batches(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_program(session, birthday={"enabled": True, "points": 5})
    frozen_clock.set(datetime(2026, 5, 20, 4, 30, tzinfo=UTC))
    members = [make_member(session, cipher, birthday=date(1990, 5, 20)) for _ in range(3)]
    monkeypatch.setattr(benefits, "DEFAULT_BATCH_SIZE", 2)
    benefits_tasks.run_benefits(session, {})
    assert [available_points(session, m.id) for m in members] == [5, 5, 0]
    queued = session.scalars(
        select(Job).where(Job.task == benefits_tasks.TASK).order_by(Job.id)
    ).all()
    assert [job.idempotency_key for job in queued] == [
        "members.daily_benefits:2026-05-20T05:00:00+00:00",
        f"members.daily_benefits:2026-05-20T04:30:00+00:00:{members[1].id}",
    ]
    benefits_tasks.run_benefits(session, queued[1].payload)
    benefits_tasks.run_benefits(session, queued[1].payload)
    assert [available_points(session, m.id) for m in members] == [5, 5, 5]
    assert session.scalar(select(func.count()).select_from(BenefitGrant)) == 3


def test_nothing_configured_grants_nothing(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    frozen_clock.set(datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    member = make_member(session, cipher, birthday=date(1990, 12, 8))
    # Enabled but empty: a member day without a coupon and a birthday worth 0 points.
    set_program(
        session,
        member_day={"enabled": True, "day_of_month": 8},
        birthday={"enabled": True, "points": 0},
    )
    assert benefits.run_batch(session).scanned == 0
    assert benefits.run_all(session) == {}
    assert _grants(session, member.id) == []
    assert event_payloads(session, benefits.BENEFIT_GRANTED) == []
