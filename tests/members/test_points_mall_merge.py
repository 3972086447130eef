"""A merge moves exchanges, adds up per-item tallies and keeps each benefit period once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.customers.merge import merge_customers
from siyu.members import benefits
from siyu.members import points_mall_merge as _merge  # noqa: F401  (registers the re-pointers)
from siyu.members.points_mall_exchange import exchange_coupon
from siyu.models.member import BenefitGrant, PointsExchange
from tests.members.mall_factories import (
    cipher,
    make_item,
    make_member,
    make_template,
    set_program,
    settings,
    tally,
)

__all__ = ["cipher", "settings"]


def test_merge_moves_exchanges_tallies_and_grants(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    set_program(session, birthday={"enabled": True, "points": 10})
    frozen_clock.set(datetime(2026, 9, 9, 3, 0, tzinfo=UTC))
    template = make_template(session)
    item = make_item(session, coupon_template_id=template.id, points_price=10, per_member_limit=5)
    survivor = make_member(session, cipher, points_balance=100, birthday=date(1990, 9, 9))
    merged = make_member(session, cipher, points_balance=100, birthday=date(1990, 9, 9))
    other = make_item(session, coupon_template_id=template.id, points_price=10)
    exchange_coupon(session, survivor.id, item)
    exchange_coupon(session, merged.id, item)
    exchange_coupon(session, merged.id, other)
    assert benefits.run_all(session) == {"birthday": 2}
    merge_customers(session, "test", survivor.id, merged.id, "same person")
    assert tally(session, item.id, survivor.id) == 2
    assert tally(session, other.id, survivor.id) == 1
    assert tally(session, item.id, merged.id) == 0
    owners = session.scalars(select(PointsExchange.customer_id)).all()
    assert owners == [survivor.id] * 3
    grants = session.execute(select(BenefitGrant.customer_id, BenefitGrant.period)).all()
    assert [tuple(row) for row in grants] == [(survivor.id, "2026")]
