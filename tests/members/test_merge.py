"""Merging customers folds the merged member's membership into the survivor's."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.customers.merge import merge_customers
from siyu.members import audit, growth, points
from siyu.models.member import GrowthEntry, Membership, PointsEntry
from tests.members.factories import deliver, make_ladder, make_member, membership

pytestmark = pytest.mark.usefixtures("settings")


def test_merge_adds_balances_repoints_ledgers_and_keeps_the_higher_tier(
    session: Session, cipher: PiiCipher
) -> None:
    tiers = make_ladder(session)
    survivor = make_member(session, cipher, points_balance=100)
    merged = make_member(session, cipher, points_balance=250)
    points.earn(session, merged, 40, reference="order:x", reason="order", frozen=True)
    growth.add(session, merged, 6000, source="order", reference="order:9")
    # Both completed the profile task: both rows are history, under distinct keys.
    growth.complete_task(session, survivor, "complete_profile")
    growth.complete_task(session, merged, "complete_profile")
    merge_customers(session, "test", survivor, merged, "same phone")
    member = membership(session, survivor)
    assert (member.points_balance, member.points_frozen) == (350, 40)
    assert member.growth_value == 6100
    assert member.tier_id == tiers["gold"].id
    assert session.get(Membership, merged) is None
    owners = set(session.scalars(select(PointsEntry.customer_id)))
    assert owners == {survivor}
    references = sorted(r or "" for r in session.scalars(select(GrowthEntry.reference)).all())
    assert references == [
        "order:9",
        "task:complete_profile",
        f"task:complete_profile~m{merged}",
    ]
    assert audit.run(session).ok
    # The merged id's late events land on the survivor; the sweep finds nothing left.
    assert deliver(session, "customer.merged") == 1
    assert points.spend(session, survivor, 350, reference="s", reason="x").balance_after == 0


def test_merging_a_non_member_changes_nothing(session: Session, cipher: PiiCipher) -> None:
    from tests.customers.factories import make_customer

    survivor = make_member(session, cipher, points_balance=10)
    other = make_customer(session, cipher)
    merge_customers(session, "test", survivor, other.id, "same phone")
    assert points.balance(session, survivor) == (10, 0)
    assert audit.run(session).ok
