"""Issuing: limits, windows, tiers, sources; every refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.coupons import issuing
from siyu.members import memberships
from siyu.models.coupon import (
    CouponSource,
    CouponStatus,
    CouponTally,
    CouponTemplate,
    TemplateStatus,
    ValidityKind,
)
from siyu.models.member import Membership, MemberTier
from tests.coupons.factories import make_template, snapshot
from tests.customers.factories import make_cipher, make_customer


def refused(
    session: Session, template_id: int, customer_id: int, code: str, **kwargs: object
) -> None:
    before = snapshot(session)
    with pytest.raises(SiyuError) as error:
        issuing.issue(session, template_id, customer_id, source=CouponSource.CLAIM, **kwargs)  # type: ignore[arg-type]
    assert error.value.code == code
    assert snapshot(session) == before


def test_issue_sets_validity_code_and_counters(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    customer = make_customer(session, make_cipher())
    template = make_template(session, validity=ValidityKind.RELATIVE, valid_days=7)
    coupon = issuing.issue(session, template.id, customer.id, source=CouponSource.CLAIM)
    assert coupon.status == CouponStatus.AVAILABLE
    assert coupon.valid_from == frozen_clock.now()
    assert coupon.valid_until == frozen_clock.now() + timedelta(days=7)
    assert len(coupon.code) == issuing.CODE_LENGTH
    session.refresh(template)
    assert template.issued_count == 1
    tally = session.get_one(CouponTally, (template.id, customer.id))
    assert (tally.claimed_total, tally.claimed_on_day) == (1, 1)


def test_per_customer_and_total_limits(session: Session) -> None:
    first, second, third = (make_customer(session, make_cipher()) for _ in range(3))
    template = make_template(session, total_quantity=2, per_customer_limit=1)
    issuing.issue(session, template.id, first.id, source=CouponSource.CLAIM)
    refused(session, template.id, first.id, "coupon.limit_reached")
    issuing.issue(session, template.id, second.id, source=CouponSource.CLAIM)
    refused(session, template.id, third.id, "coupon.exhausted")


def test_per_day_limit_resets_at_shop_midnight(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    # The frozen clock starts at 10:00 Shanghai time.
    customer = make_customer(session, make_cipher())
    template = make_template(session, per_day_limit=1, per_customer_limit=2)
    issuing.issue(session, template.id, customer.id, source=CouponSource.CLAIM)
    refused(session, template.id, customer.id, "coupon.limit_reached")
    frozen_clock.advance(hours=13, minutes=59)  # 23:59 the same local day
    refused(session, template.id, customer.id, "coupon.limit_reached")
    frozen_clock.advance(minutes=2)  # 00:01 the next local day
    issuing.issue(session, template.id, customer.id, source=CouponSource.CLAIM)
    frozen_clock.advance(days=1)
    refused(session, template.id, customer.id, "coupon.limit_reached")  # 2 in total


def test_status_window_and_validity_refusals(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    customer = make_customer(session, make_cipher())
    now = frozen_clock.now()
    paused = make_template(session, status=TemplateStatus.PAUSED)
    refused(session, paused.id, customer.id, "coupon.not_claimable")
    later = make_template(session, claim_starts_at=now + timedelta(hours=1))
    refused(session, later.id, customer.id, "coupon.not_claimable")
    # The claim window binds the customer, not a benefit the shop hands out.
    issuing.issue(session, later.id, customer.id, source=CouponSource.BENEFIT)
    over = make_template(session, valid_until=now + timedelta(days=1))
    frozen_clock.advance(days=1)
    refused(session, over.id, customer.id, "coupon.not_claimable")
    refused(session, 10**12, customer.id, "coupon.template_not_found")


def test_tier_exclusive_templates(session: Session) -> None:
    customer = make_customer(session, make_cipher())
    template = make_template(session, min_tier_rank=2)
    refused(session, template.id, customer.id, "coupon.tier_required")
    silver = MemberTier(code="silver-test", name="银卡", rank=1, growth_threshold=1000)
    gold = MemberTier(code="gold-test", name="金卡", rank=2, growth_threshold=5000)
    session.add_all([silver, gold])
    session.flush()
    membership = Membership(customer_id=customer.id, tier_id=silver.id, joined_at=clock.now())
    session.add(membership)
    session.flush()
    refused(session, template.id, customer.id, "coupon.tier_required")
    membership.tier_id = gold.id
    session.flush()
    assert memberships.tier_of(session, customer.id) == gold
    coupon = issuing.issue(session, template.id, customer.id, source=CouponSource.CLAIM)
    assert coupon.template_id == template.id


def test_benefits_skip_customer_limits_but_not_the_quantity(session: Session) -> None:
    customer = make_customer(session, make_cipher())
    template = make_template(session, total_quantity=2, per_customer_limit=1)
    for _ in range(2):
        issuing.issue(
            session,
            template.id,
            customer.id,
            source=CouponSource.BENEFIT,
            enforce_customer_limits=False,
        )
    refused(session, template.id, customer.id, "coupon.exhausted", enforce_customer_limits=False)
    tally = session.get_one(CouponTally, (template.id, customer.id))
    assert tally.claimed_total == 2


def test_exhausted_claim_leaves_no_tally_row(session: Session) -> None:
    first, second = (make_customer(session, make_cipher()) for _ in range(2))
    template = make_template(session, total_quantity=1, per_customer_limit=1)
    issuing.issue(session, template.id, first.id, source=CouponSource.CLAIM)
    refused(session, template.id, second.id, "coupon.exhausted")
    assert session.get(CouponTally, (template.id, second.id)) is None


def test_centre_claim_needs_a_centre_template_links_do_not(session: Session) -> None:
    customer = make_customer(session, make_cipher())
    hidden = make_template(session, in_coupon_centre=False)
    before = snapshot(session)
    with pytest.raises(SiyuError) as error:
        issuing.claim(session, hidden.public_id, customer.id, via_link=False)
    assert error.value.code == "coupon.template_not_found"
    assert snapshot(session) == before
    coupon = issuing.claim(session, hidden.public_id, customer.id, via_link=True)
    assert coupon.source == CouponSource.LINK
    assert session.get_one(CouponTemplate, hidden.id).id == hidden.id
