"""Promoters (apply, invite, two levels at most, review, guides) and binding rules
(last touch, first bind, expiry), with refused input changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.referral import binding, promoters
from siyu.campaigns.referral.errors import (
    AlreadyPromoter,
    ProgrammeNotLive,
    PromoterStateConflict,
    SelfReferral,
    TooDeep,
    UnknownCode,
)
from siyu.campaigns.referral.schemas import ApplyIn
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import ValidationFailed
from siyu.models.referral import Promoter, PromoterStatus, ReferralBinding
from siyu.models.staff import AuditLog, Role
from tests.campaigns.referral.factories import ACTOR, make_programme, make_promoter
from tests.customers.factories import make_customer
from tests.factories import make_staff


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_apply_waits_for_approval_unless_auto(session: Session, cipher: PiiCipher) -> None:
    make_programme(session, auto_approve=False)
    customer = make_customer(session, cipher)
    promoter = promoters.apply(session, customer.id, ApplyIn(note="我有很多朋友"))
    assert (promoter.status, promoter.depth, len(promoter.code)) == ("pending", 1, 8)
    with pytest.raises(UnknownCode):
        binding.bind(session, make_customer(session, cipher).id, promoter.code)
    promoters.review(session, ACTOR, promoter, "approve")
    assert promoter.status == PromoterStatus.ACTIVE
    with pytest.raises(PromoterStateConflict):
        promoters.review(session, ACTOR, promoter, "approve")
    promoters.review(session, ACTOR, promoter, "suspend")
    promoters.review(session, ACTOR, promoter, "reinstate")
    actions = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.action.startswith("referral.promoter"))
        .order_by(AuditLog.id)
    ).all()
    assert actions == [
        "referral.promoter_approved",
        "referral.promoter_suspended",
        "referral.promoter_reinstated",
    ]
    with pytest.raises(AlreadyPromoter):
        promoters.apply(session, customer.id, ApplyIn())


def test_at_most_two_levels(session: Session, cipher: PiiCipher) -> None:
    make_programme(session)
    top = make_promoter(session, cipher)
    child = make_promoter(session, cipher, parent=top)
    assert (child.parent_id, child.depth) == (top.id, 2)
    before = _count(session, Promoter)
    with pytest.raises(TooDeep):
        make_promoter(session, cipher, parent=child)
    assert _count(session, Promoter) == before + 0  # the customer was made, no promoter
    assert top.customer_id is not None
    with pytest.raises(SelfReferral):
        promoters.apply(session, top.customer_id, ApplyIn(invite_code=top.code))


def test_nothing_without_a_live_programme(session: Session, cipher: PiiCipher) -> None:
    make_programme(session, starts_in=timedelta(days=2))
    customer = make_customer(session, cipher)
    with pytest.raises(ProgrammeNotLive):
        promoters.apply(session, customer.id, ApplyIn())
    assert _count(session, Promoter) == 0


def test_guides_are_enrolled_by_operators(session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    operator = make_staff(session, roles=[Role.OPERATOR])
    promoter = promoters.enrol_guide(session, ACTOR, guide.id)
    assert (promoter.kind, promoter.status, promoter.staff_id) == ("guide", "active", guide.id)
    with pytest.raises(AlreadyPromoter):
        promoters.enrol_guide(session, ACTOR, guide.id)
    with pytest.raises(ValidationFailed):
        promoters.enrol_guide(session, ACTOR, operator.id)


def test_last_touch_rebinds(session: Session, cipher: PiiCipher) -> None:
    make_programme(session, bind_rule="last", bind_days=15)
    first, second = make_promoter(session, cipher), make_promoter(session, cipher)
    customer = make_customer(session, cipher)
    binding.bind(session, customer.id, first.code)
    row = binding.bind(session, customer.id, second.code)
    assert (row.promoter_id, row.rebinds) == (second.id, 1)
    assert row.expires_at - row.bound_at == timedelta(days=15)


def test_first_bind_wins_until_it_expires(
    session: Session, cipher: PiiCipher, frozen_clock: clock.FrozenClock
) -> None:
    make_programme(session, bind_rule="first", bind_days=3)
    first, second = make_promoter(session, cipher), make_promoter(session, cipher)
    customer = make_customer(session, cipher)
    binding.bind(session, customer.id, first.code)
    assert binding.bind(session, customer.id, second.code).promoter_id == first.id
    frozen_clock.advance(timedelta(days=3))
    row = binding.bind(session, customer.id, second.code)
    assert (row.promoter_id, row.rebinds) == (second.id, 1)


def test_binding_refuses_self_and_unknown_codes(session: Session, cipher: PiiCipher) -> None:
    make_programme(session)
    promoter = make_promoter(session, cipher)
    assert promoter.customer_id is not None
    with pytest.raises(SelfReferral):
        binding.bind(session, promoter.customer_id, promoter.code)
    with pytest.raises(UnknownCode):
        binding.bind(session, make_customer(session, cipher).id, "ZZZZZZZZ")
    assert _count(session, ReferralBinding) == 0
