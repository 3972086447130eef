"""Tier movement: upgrades at once, downgrades only at the periodic review."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.members import growth, memberships, schedule, tasks, tier_changes
from siyu.models.job import Job
from siyu.models.member import MemberTier, TierChange
from tests.customers.factories import make_customer
from tests.members.factories import make_ladder, make_member, membership, payloads

pytestmark = pytest.mark.usefixtures("settings")


def _reasons(session: Session, customer_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        select(TierChange.reason, MemberTier.code)
        .join(MemberTier, MemberTier.id == TierChange.to_tier_id)
        .where(TierChange.customer_id == customer_id)
        .order_by(TierChange.id)
    )
    return [(reason, code) for reason, code in rows]


def test_a_new_member_starts_in_the_base_tier_created_on_first_need(
    session: Session, cipher: PiiCipher
) -> None:
    customer = make_customer(session, cipher)
    first = memberships.ensure(session, customer.id)
    again = memberships.ensure(session, customer.id)
    assert first is again
    tier = memberships.tier_of(session, customer.id)
    assert tier is not None
    assert (tier.code, tier.name, tier.growth_threshold) == (
        "normal",
        "普通会员",
        0,
    )
    assert _reasons(session, customer.id) == [("join", "normal")]
    # The daily jobs' chain starts with the first membership.
    queued = set(session.scalars(select(Job.task)))
    assert set(schedule.DAILY_TASKS) <= queued


def test_growth_upgrades_at_once_and_skips_tiers(session: Session, cipher: PiiCipher) -> None:
    make_ladder(session)
    customer_id = make_member(session, cipher)
    growth.add(session, customer_id, 999, source="order", reference="order:1")
    assert _reasons(session, customer_id) == [("join", "normal")]
    growth.add(session, customer_id, 4001, source="order", reference="order:2")
    assert _reasons(session, customer_id)[-1] == ("upgrade", "gold")
    assert [(p["from_tier"], p["to_tier"]) for p in payloads(session, "member.tier_changed")] == [
        ("normal", "gold")
    ]
    # The same reference counts once.
    assert not growth.add(session, customer_id, 50000, source="order", reference="order:2")
    assert membership(session, customer_id).growth_value == 5000


def test_refunded_growth_never_downgrades_before_the_review(
    session: Session, cipher: PiiCipher
) -> None:
    tiers = make_ladder(session)
    customer_id = make_member(session, cipher)
    growth.add(session, customer_id, 1500, source="order", reference="order:1")
    assert growth.reduce(session, customer_id, 2000, source="refund", reference="r") == 1500
    member = membership(session, customer_id)
    assert (member.growth_value, member.period_growth, member.tier_id) == (
        0,
        0,
        tiers["silver"].id,
    )


def test_review_downgrades_to_what_the_period_earned_and_starts_a_new_period(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    tiers = make_ladder(session)
    keeper = make_member(session, cipher)
    loser = make_member(session, cipher)
    for customer_id in (keeper, loser):
        growth.add(session, customer_id, 6000, source="order", reference="order:a")
    growth.reduce(session, loser, 4800, source="refund", reference="refund:a")
    # Still gold until the review: a downgrade waits for the period's end.
    assert membership(session, loser).tier_id == tiers["gold"].id
    frozen_clock.set(datetime(2027, 11, 22, 1, 59, tzinfo=UTC))
    assert tier_changes.review_due(session) == 0  # the period is not over yet
    frozen_clock.set(datetime(2027, 11, 22, 2, 0, tzinfo=UTC))
    assert tier_changes.review_due(session) == 2
    assert membership(session, keeper).tier_id == tiers["gold"].id
    assert membership(session, loser).tier_id == tiers["silver"].id
    assert _reasons(session, loser)[-1] == ("review", "silver")
    assert (
        membership(session, keeper).period_growth,
        membership(session, loser).period_growth,
    ) == (
        0,
        0,
    )
    assert tier_changes.review_due(session) == 0  # reviewed: a new period runs
    # A year without growth: the keeper falls to the base tier at the next review.
    frozen_clock.set(datetime(2028, 11, 22, 2, 0, tzinfo=UTC))
    tasks.run_tier_review(session, {})
    assert membership(session, keeper).tier_id == tiers["normal"].id
    events = [
        (p["customer_id"], p["to_tier"], p["reason"])
        for p in payloads(session, "member.tier_changed")
    ]
    assert events == [
        (keeper, "gold", "upgrade"),
        (loser, "gold", "upgrade"),
        (loser, "silver", "review"),
        (keeper, "normal", "review"),
        (loser, "normal", "review"),
    ]
    # The job chains itself to the next day.
    assert session.scalar(
        select(Job.run_at).where(
            Job.task == schedule.TIER_REVIEW_TASK,
            Job.idempotency_key == f"{schedule.TIER_REVIEW_TASK}:2028-11-23",
        )
    ) == datetime(2028, 11, 23, 0, 5, tzinfo=UTC)


def test_shift_months_clamps_to_the_month_end() -> None:
    moment = datetime(2027, 3, 31, 12, tzinfo=UTC)
    assert tier_changes.shift_months(moment, -1) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert tier_changes.shift_months(moment, -13) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert tier_changes.shift_months(moment, 11) == datetime(2028, 2, 29, 12, tzinfo=UTC)
