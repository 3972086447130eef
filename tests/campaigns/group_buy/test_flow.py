"""A group's life: opened by the leader's payment, joined through the link, filled
(orders may ship) or failed at the deadline (paid members refunded through the
provider, stock restored, unpaid seats cancelled), and the counters that follow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy import participation, reads, settlement
from siyu.campaigns.group_buy.errors import GroupNotFilled
from siyu.catalog import stock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.group_buy import GroupBuyGroup, GroupBuyMember, GroupStatus, MemberStatus
from siyu.models.order import OrderStatus
from siyu.models.payment import Refund
from siyu.orders import lifecycle
from tests.campaigns.group_buy.factories import (
    DELIVERY,
    deliver,
    join_and_pay,
    make_deal,
    members,
    open_and_pay,
    queued_jobs,
    submit_refunds,
)
from tests.customers.factories import make_customer
from tests.orders.factories import Shelf, pay


def test_leader_opens_by_paying_and_friends_fill_the_group(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    shelf: Shelf,
    frozen_clock: FrozenClock,
) -> None:
    sku = shelf.skus[0]
    campaign, deal = make_deal(session, sku=sku)
    leader, first, second = (make_customer(session, cipher).id for _ in range(3))

    group, order = participation.open_group(session, cipher, settings, leader, deal, DELIVERY)
    assert (group.status, group.member_count, group.paid_count) == ("pending", 1, 0)
    assert group.expires_at is None
    assert order.items_amount == 12900
    assert order.total_amount - order.shipping_amount == 8900  # 团长价
    assert order.campaign_id == campaign.id
    session.refresh(deal)
    assert deal.stock_left == 49
    with pytest.raises(participation.GroupNotFound):
        participation.group_by_public_id(session, group.public_id)  # pending: not joinable

    pay(session, settings, order)
    deliver(session)
    session.refresh(group)
    assert (group.status, group.paid_count) == ("open", 1)
    assert group.expires_at == frozen_clock.now() + timedelta(minutes=60)
    [job] = queued_jobs(session, settlement.EXPIRE_TASK)
    assert (job.payload, job.run_at) == ({"group_id": group.id}, group.expires_at)
    assert len(queued_jobs(session, settlement.SWEEP_TASK)) == 1

    first_order = join_and_pay(session, cipher, settings, group, first)
    assert first_order.total_amount - first_order.shipping_amount == 9900
    assert first_order.referrer_customer_id == leader
    assert (group.status, group.member_count, group.paid_count) == ("open", 2, 2)
    # Paid but held: the group has not filled.
    with pytest.raises(GroupNotFilled):
        lifecycle.ship(
            session, order, actor="staff", carrier="SF", tracking_number="SF1", settings=settings
        )
    with pytest.raises(GroupNotFilled):
        lifecycle.deliver(session, order, actor="store", settings=settings)
    assert order.status == OrderStatus.PAID

    join_and_pay(session, cipher, settings, group, second)
    assert (group.status, group.member_count, group.paid_count) == ("filled", 3, 3)
    assert group.filled_at == frozen_clock.now()
    assert members(session, group) == [(True, "paid"), (False, "paid"), (False, "paid")]
    lifecycle.ship(
        session, order, actor="staff", carrier="SF", tracking_number="SF1", settings=settings
    )
    assert order.status == OrderStatus.SHIPPED
    figures = reads.counters(session, [campaign.id])[campaign.id]
    paid = sum(
        session.scalars(select(GroupBuyMember.amount).where(GroupBuyMember.group_id == group.id))
    )
    assert figures == {
        "groups_opened": 1,
        "groups_open": 0,
        "groups_filled": 1,
        "groups_failed": 0,
        "group_members": 3,
        "group_gmv_amount": paid,
        "group_refunds": 0,
        "group_refunded_amount": 0,
    }
    # The deadline of a filled group changes nothing.
    frozen_clock.advance(timedelta(hours=2))
    assert settlement.conclude(session, group.id) is False


def test_deadline_fails_the_group_refunds_paid_members_once_and_restores_stock(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    shelf: Shelf,
    frozen_clock: FrozenClock,
) -> None:
    sku = shelf.skus[0]
    campaign, deal = make_deal(session, sku=sku, group_size=4)
    leader, paying, unpaid = (make_customer(session, cipher).id for _ in range(3))
    group, leader_order = open_and_pay(session, cipher, settings, deal, leader)
    paying_order = join_and_pay(session, cipher, settings, group, paying)
    unpaid_order = participation.join_group(session, cipher, settings, unpaid, group, DELIVERY)
    session.refresh(group)
    assert (group.member_count, group.paid_count) == (3, 2)
    session.refresh(deal)
    assert deal.stock_left == 47
    assert stock.available(session, sku.id, shelf.warehouse.id) == 97

    frozen_clock.advance(timedelta(minutes=59))
    assert settlement.conclude(session, group.id) is False  # not yet
    frozen_clock.advance(timedelta(minutes=1))
    assert settlement.conclude(session, group.id) is True
    assert settlement.conclude(session, group.id) is False  # exactly once
    assert settlement.sweep(session) == 0
    session.refresh(group)
    assert (group.status, group.failed_at) == ("failed", frozen_clock.now())
    session.refresh(unpaid_order)
    assert unpaid_order.status == OrderStatus.CANCELLED
    refunds_made = list(session.scalars(select(Refund).order_by(Refund.id)))
    assert [(r.order_id, r.amount, r.status, r.restock) for r in refunds_made] == [
        (leader_order.id, leader_order.paid_amount, "processing", True),
        (paying_order.id, paying_order.paid_amount, "processing", True),
    ]

    assert submit_refunds(session) == 2
    for order in (leader_order, paying_order):
        session.refresh(order)
        assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, order.paid_amount)
    assert members(session, group) == [
        (True, "refunded"),
        (False, "refunded"),
        (False, "cancelled"),
    ]
    session.refresh(group)
    assert group.member_count == 2  # the unpaid seat came back; refunded ones stay listed
    session.refresh(deal)
    assert deal.stock_left == 50
    assert stock.available(session, sku.id, shelf.warehouse.id) == 100
    figures = reads.counters(session, [campaign.id])[campaign.id]
    assert (figures["groups_failed"], figures["group_refunds"], figures["group_gmv_amount"]) == (
        1,
        2,
        0,
    )
    assert figures["group_refunded_amount"] == leader_order.paid_amount + paying_order.paid_amount
    # A repeated refund event or deadline adds nothing.
    assert settlement.conclude(session, group.id) is False
    assert len(list(session.scalars(select(Refund)))) == 2


def test_payment_arriving_after_the_group_failed_is_refunded(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf, frozen_clock: FrozenClock
) -> None:
    campaign, deal = make_deal(session, sku=shelf.skus[0])
    leader, late = make_customer(session, cipher).id, make_customer(session, cipher).id
    group, _ = open_and_pay(session, cipher, settings, deal, leader)
    late_order = participation.join_group(session, cipher, settings, late, group, DELIVERY)
    # The money arrives, but the handler runs only after the deadline decided.
    pay(session, settings, late_order)
    frozen_clock.advance(timedelta(hours=1))
    assert settlement.conclude(session, group.id) is True
    session.refresh(late_order)
    assert late_order.status == OrderStatus.PAID  # too late to cancel
    deliver(session)
    assert submit_refunds(session) == 2
    session.refresh(late_order)
    assert late_order.status == OrderStatus.REFUNDED
    assert members(session, group) == [(True, "refunded"), (False, "refunded")]
    assert reads.counters(session, [campaign.id])[campaign.id]["group_refunds"] == 2


def test_cancelled_orders_release_seats_and_an_unpaid_leader_cancels_the_group(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf
) -> None:
    _campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=2)
    leader, joiner, other = (make_customer(session, cipher).id for _ in range(3))
    group, _ = open_and_pay(session, cipher, settings, deal, leader)
    held = participation.join_group(session, cipher, settings, joiner, group, DELIVERY)
    session.refresh(group)
    assert group.member_count == 2
    with pytest.raises(participation.GroupFull):
        participation.join_group(session, cipher, settings, other, group, DELIVERY)
    lifecycle.cancel(session, held, actor="customer", reason="changed mind")
    deliver(session)
    session.refresh(group)
    assert (group.member_count, group.paid_count, group.status) == (1, 1, "open")
    # The seat is free again, and the one who cancelled may come back.
    join_and_pay(session, cipher, settings, group, joiner)
    assert group.status == GroupStatus.FILLED
    session.refresh(deal)
    assert deal.stock_left == 48

    pending, unpaid = participation.open_group(session, cipher, settings, other, deal, DELIVERY)
    lifecycle.cancel(session, unpaid, actor="job:order.expire", reason="payment_timeout")
    deliver(session)
    session.refresh(pending)
    assert (pending.status, pending.member_count) == ("cancelled", 0)
    session.refresh(deal)
    assert deal.stock_left == 48


def test_virtual_completion_fills_with_labelled_seats_at_the_deadline(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf, frozen_clock: FrozenClock
) -> None:
    campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=3, virtual_completion=True)
    leader, unpaid = make_customer(session, cipher).id, make_customer(session, cipher).id
    group, order = open_and_pay(session, cipher, settings, deal, leader)
    assert group.virtual_completion is True
    held = participation.join_group(session, cipher, settings, unpaid, group, DELIVERY)
    frozen_clock.advance(timedelta(hours=1))
    assert settlement.conclude(session, group.id) is True
    session.refresh(group)
    assert (group.status, group.virtual_seats, group.paid_count) == ("filled", 2, 1)
    session.refresh(held)
    assert held.status == OrderStatus.CANCELLED
    assert list(session.scalars(select(Refund))) == []
    lifecycle.ship(
        session, order, actor="staff", carrier="SF", tracking_number="SF2", settings=settings
    )
    shop = reads.shop_groups(session, [group], leader)[0]
    assert (shop.virtual_completion, shop.virtual_seats, shop.is_mine) == (True, 2, True)
    assert reads.counters(session, [campaign.id])[campaign.id]["groups_filled"] == 1


def test_a_group_never_outlives_its_campaign(
    session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf, frozen_clock: FrozenClock
) -> None:
    campaign, deal = make_deal(
        session, sku=shelf.skus[0], time_limit_minutes=600, lasts=timedelta(hours=3)
    )
    group, _ = open_and_pay(session, cipher, settings, deal, make_customer(session, cipher).id)
    assert group.expires_at == campaign.ends_at
    frozen_clock.advance(timedelta(hours=3))
    assert settlement.sweep(session) == 1
    assert session.get(GroupBuyGroup, group.id).status == "failed"  # type: ignore[union-attr]
    assert (
        session.scalar(select(GroupBuyMember.status).where(GroupBuyMember.group_id == group.id))
        == MemberStatus.REFUNDING
    )
