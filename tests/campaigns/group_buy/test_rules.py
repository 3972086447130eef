"""Refusals: a full, failed or expired group, joining twice, 老带新, limits, stock, the
campaign's phase — each with its stable code, and nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy import deals, participation, settlement
from siyu.campaigns.group_buy.errors import DealLocked, InvalidDeal
from siyu.campaigns.group_buy.schemas import DealUpdate
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.group_buy import GroupBuyDeal, GroupBuyGroup, GroupBuyMember, GroupBuyTally
from siyu.models.order import Order
from siyu.orders import checkout
from tests.campaigns.group_buy.factories import (
    DELIVERY,
    count,
    join_and_pay,
    make_deal,
    open_and_pay,
)
from tests.customers.factories import make_customer
from tests.factories import make_staff, principal_of
from tests.orders.factories import Shelf, make_shelf, pay, place_order


def _snapshot(session: Session, deal: GroupBuyDeal) -> tuple[int, ...]:
    session.refresh(deal)
    seats = [
        (group.member_count, group.paid_count)
        for group in session.query(GroupBuyGroup).order_by(GroupBuyGroup.id)
    ]
    return (
        count(session, GroupBuyMember),
        count(session, Order),
        count(session, GroupBuyGroup),
        deal.stock_left,
        sum(row.taken for row in session.query(GroupBuyTally)),
        *[number for pair in seats for number in pair],
    )


def _refused(
    session: Session, deal: GroupBuyDeal, code: str, attempt: Callable[[], object]
) -> None:
    before = _snapshot(session, deal)
    with pytest.raises(SiyuError) as raised:
        attempt()
    assert raised.value.code == code
    assert _snapshot(session, deal) == before


def test_joining_refusals_change_nothing(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf, frozen_clock: FrozenClock
) -> None:
    _campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=2)
    leader, friend, late = (make_customer(session, cipher).id for _ in range(3))
    group, _ = open_and_pay(session, cipher, settings, deal, leader)

    def join(customer_id: int, target: GroupBuyGroup = group) -> Callable[[], object]:
        return lambda: participation.join_group(
            session, cipher, settings, customer_id, target, DELIVERY
        )

    _refused(session, deal, "group_buy.already_joined", join(leader))  # your own group
    join_and_pay(session, cipher, settings, group, friend)
    assert group.status == "filled"
    _refused(session, deal, "group_buy.already_joined", join(friend))
    _refused(session, deal, "group_buy.group_full", join(late))

    expiring, _ = open_and_pay(session, cipher, settings, deal, friend)
    frozen_clock.advance(timedelta(hours=1))
    _refused(session, deal, "group_buy.group_expired", join(late, expiring))
    assert settlement.conclude(session, expiring.id) is True
    _refused(session, deal, "group_buy.group_failed", join(late, expiring))


def test_new_customers_only_limits_and_stock(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf
) -> None:
    _campaign, deal = make_deal(
        session,
        sku=shelf.skus[0],
        group_size=5,
        new_customers_only=True,
        per_customer_limit=1,
        stock_total=3,
    )
    leader, regular, newcomer, third = (make_customer(session, cipher).id for _ in range(4))
    # The leader may be a regular; a regular may not join under 老带新.
    other_shelf = make_shelf(session, prices=(5900,), store_stock=0)
    for customer_id in (leader, regular):
        order, _ = place_order(
            session,
            cipher,
            settings,
            customer_id=customer_id,
            items=[checkout.ItemInput(other_shelf.skus[0].id, 1)],
        )
        pay(session, settings, order)
    group, _ = open_and_pay(session, cipher, settings, deal, leader)
    _refused(
        session,
        deal,
        "group_buy.new_customers_only",
        lambda: participation.join_group(session, cipher, settings, regular, group, DELIVERY),
    )
    join_and_pay(session, cipher, settings, group, newcomer)
    # One group per customer on this deal.
    _refused(
        session,
        deal,
        "group_buy.limit_reached",
        lambda: participation.open_group(session, cipher, settings, newcomer, deal, DELIVERY),
    )
    participation.join_group(session, cipher, settings, third, group, DELIVERY)
    # Three units of campaign stock are gone.
    _refused(
        session,
        deal,
        "group_buy.sold_out",
        lambda: participation.open_group(session, cipher, settings, regular, deal, DELIVERY),
    )


@pytest.mark.parametrize(
    ("starts_in", "code"),
    [(timedelta(hours=2), "campaign.not_started"), (timedelta(days=-3), "campaign.ended")],
)
def test_before_start_and_after_end(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    shelf: Shelf,
    starts_in: timedelta,
    code: str,
) -> None:
    _campaign, deal = make_deal(session, sku=shelf.skus[0], starts_in=starts_in)
    customer_id = make_customer(session, cipher).id
    _refused(
        session,
        deal,
        code,
        lambda: participation.open_group(session, cipher, settings, customer_id, deal, DELIVERY),
    )


def test_joining_after_the_campaign_ended_is_refused(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf, frozen_clock: FrozenClock
) -> None:
    _campaign, deal = make_deal(session, sku=shelf.skus[0], lasts=timedelta(hours=3))
    group, _ = open_and_pay(session, cipher, settings, deal, make_customer(session, cipher).id)
    frozen_clock.advance(timedelta(hours=2, minutes=59))
    friend = make_customer(session, cipher).id
    frozen_clock.advance(timedelta(minutes=1))
    _refused(
        session,
        deal,
        "campaign.ended",
        lambda: participation.join_group(session, cipher, settings, friend, group, DELIVERY),
    )


def test_deal_edits_lock_prices_once_live_and_stock_only_grows(
    session: Session, shelf: Shelf
) -> None:
    actor = principal_of(make_staff(session))
    _campaign, deal = make_deal(session, sku=shelf.skus[0])
    with pytest.raises(DealLocked):
        deals.update_deal(session, actor, deal, DealUpdate(group_price=5000))
    with pytest.raises(InvalidDeal):
        deals.update_deal(session, actor, deal, DealUpdate(stock_total=10))
    deals.update_deal(session, actor, deal, DealUpdate(stock_total=80, title="新标题"))
    assert (deal.stock_total, deal.stock_left, deal.title) == (80, 80, "新标题")
    _later, scheduled = make_deal(session, sku=shelf.skus[0], starts_in=timedelta(days=1))
    with pytest.raises(InvalidDeal):
        deals.update_deal(session, actor, scheduled, DealUpdate(leader_price=20000))
    deals.update_deal(session, actor, scheduled, DealUpdate(group_price=7900, leader_price=6900))
    assert (scheduled.group_price, scheduled.leader_price) == (7900, 6900)
