"""Opening a group (the leader) and joining one (through the share link).

Both place an ordinary mall order at the deal's price through checkout (the shared
``campaign_price`` step); the group only opens when the leader's order is paid
(``settlement.on_paid``), and a joiner's seat is held by their unpaid order until it
is paid or cancelled.

What is taken, always in this order so racing requests lock rows alike (group, deal,
tally) and never deadlock with the settlement handlers, which also start at the group:

1. a seat: ``UPDATE group SET member_count = member_count + 1 WHERE status = 'open'
   AND member_count < size AND expires_at > now`` — the row count says full/expired;
2. a unit of the deal's campaign stock: ``stock_left >= 1``;
3. the customer's tally on the deal: ``taken + 1 <= per_customer_limit``.

A check-then-act would let everyone racing for the last seat pass the check; one
conditional UPDATE lets exactly the ones that fit through. Everything happens inside
a savepoint, so a refused request (full, sold out, limit) changes nothing.
"""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.campaigns import common_orders, pricing
from siyu.campaigns.group_buy.errors import (
    AlreadyJoined,
    GroupExpired,
    GroupFailed,
    GroupFull,
    GroupNotFound,
    GroupNotOpen,
    LimitReached,
    NewCustomersOnly,
    SoldOut,
)
from siyu.campaigns.registry import phases
from siyu.campaigns.registry import service as registry
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import dialect_insert, rowcount
from siyu.core.settings import Settings
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.group_buy import (
    GroupBuyDeal,
    GroupBuyGroup,
    GroupBuyMember,
    GroupBuyTally,
    GroupStatus,
    MemberStatus,
)
from siyu.models.order import Order, OrderLine

KIND = CampaignKind.GROUP_BUY


Delivery = common_orders.OrderRequest


def group_by_public_id(session: Session, public_id: str) -> GroupBuyGroup:
    group = session.scalars(
        select(GroupBuyGroup).where(GroupBuyGroup.public_id == public_id)
    ).first()
    if group is None or group.status in (GroupStatus.PENDING, GroupStatus.CANCELLED):
        # A pending group is its leader's business until paid; a cancelled one never was.
        raise GroupNotFound(data={"group": public_id})
    return group


def has_paid_order(session: Session, customer_id: int) -> bool:
    """老带新's test: any order of this customer ever paid (refunded ones included)."""
    return bool(
        session.scalar(
            select(exists().where(Order.customer_id == customer_id, Order.paid_at.is_not(None)))
        )
    )


def _live_member(session: Session, group_id: int, customer_id: int) -> GroupBuyMember | None:
    return session.scalars(
        select(GroupBuyMember).where(
            GroupBuyMember.group_id == group_id,
            GroupBuyMember.customer_id == customer_id,
            GroupBuyMember.status != MemberStatus.CANCELLED,
        )
    ).first()


def _refuse_join(group: GroupBuyGroup) -> None:
    """The customer-facing reason a group takes no one (the seat UPDATE decided)."""
    data = {"group": group.public_id, "status": group.status}
    if group.status == GroupStatus.FAILED:
        raise GroupFailed(data=data)
    if group.status == GroupStatus.FILLED:
        raise GroupFull(data=data)
    if group.status != GroupStatus.OPEN:
        raise GroupNotOpen(data=data)
    if group.expires_at is not None and group.expires_at <= clock.now():
        raise GroupExpired(data={**data, "expires_at": group.expires_at.isoformat()})
    if group.member_count >= group.size:
        raise GroupFull(data={**data, "size": group.size})


def _take_seat(session: Session, group: GroupBuyGroup) -> None:
    taken = session.execute(
        update(GroupBuyGroup)
        .where(
            GroupBuyGroup.id == group.id,
            GroupBuyGroup.status == GroupStatus.OPEN,
            GroupBuyGroup.member_count < GroupBuyGroup.size,
            GroupBuyGroup.expires_at > clock.now(),
        )
        .values(member_count=GroupBuyGroup.member_count + 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        session.refresh(group)
        _refuse_join(group)
        raise GroupFull(data={"group": group.public_id})


def _take_stock(session: Session, deal: GroupBuyDeal) -> None:
    taken = session.execute(
        update(GroupBuyDeal)
        .where(GroupBuyDeal.id == deal.id, GroupBuyDeal.stock_left >= 1)
        .values(stock_left=GroupBuyDeal.stock_left - 1)
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        raise SoldOut(data={"deal": deal.public_id})


def _take_tally(session: Session, deal: GroupBuyDeal, customer_id: int) -> None:
    session.execute(
        dialect_insert(session, GroupBuyTally)
        .values(deal_id=deal.id, customer_id=customer_id, taken=0)
        .on_conflict_do_nothing(index_elements=["deal_id", "customer_id"])
    )
    statement = update(GroupBuyTally).where(
        GroupBuyTally.deal_id == deal.id, GroupBuyTally.customer_id == customer_id
    )
    if deal.per_customer_limit is not None:
        statement = statement.where(GroupBuyTally.taken + 1 <= deal.per_customer_limit)
    taken = session.execute(
        statement.values(taken=GroupBuyTally.taken + 1).execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        raise LimitReached(
            data={"deal": deal.public_id, "per_customer_limit": deal.per_customer_limit}
        )


def give_back(session: Session, deal_id: int, customer_id: int) -> None:
    """A unit of campaign stock and the customer's tally back (cancel, refund)."""
    session.execute(
        update(GroupBuyDeal)
        .where(GroupBuyDeal.id == deal_id, GroupBuyDeal.stock_left < GroupBuyDeal.stock_total)
        .values(stock_left=GroupBuyDeal.stock_left + 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(GroupBuyTally)
        .where(
            GroupBuyTally.deal_id == deal_id,
            GroupBuyTally.customer_id == customer_id,
            GroupBuyTally.taken >= 1,
        )
        .values(taken=GroupBuyTally.taken - 1)
        .execution_options(synchronize_session=False)
    )


def _place(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    *,
    deal: GroupBuyDeal,
    campaign: Campaign,
    member: GroupBuyMember,
    delivery: Delivery,
    referrer_customer_id: int | None,
) -> Order:
    return common_orders.place_one_item(
        session,
        cipher,
        settings,
        member.customer_id,
        option=pricing.CampaignOption(
            kind=KIND,
            campaign_id=campaign.id,
            reference_id=member.id,
            unit_prices={deal.sku_id: member.unit_price},
        ),
        sku_id=deal.sku_id,
        request=delivery,
        referrer_customer_id=referrer_customer_id,
    )


def open_group(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    customer_id: int,
    deal: GroupBuyDeal,
    delivery: Delivery,
) -> tuple[GroupBuyGroup, Order]:
    """A pending group and the leader's order; the group opens when the order is paid."""
    campaign = registry.get(session, deal.campaign_id, kind=KIND)
    phases.require_live(campaign)
    with session.begin_nested():
        _take_stock(session, deal)
        _take_tally(session, deal, customer_id)
        now = clock.now()
        group = GroupBuyGroup(
            public_id=new_public_id("gbg"),
            deal_id=deal.id,
            campaign_id=campaign.id,
            leader_customer_id=customer_id,
            status=GroupStatus.PENDING.value,
            size=deal.group_size,
            member_count=1,
            paid_count=0,
            virtual_completion=deal.virtual_completion,
            virtual_seats=0,
            created_at=now,
            updated_at=now,
        )
        session.add(group)
        session.flush()
        member = GroupBuyMember(
            group_id=group.id,
            customer_id=customer_id,
            is_leader=True,
            status=MemberStatus.PENDING_PAYMENT.value,
            unit_price=deal.leader_price or deal.group_price,
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        session.flush()
        order = _place(
            session,
            cipher,
            settings,
            deal=deal,
            campaign=campaign,
            member=member,
            delivery=delivery,
            referrer_customer_id=None,
        )
    return group, order


def join_group(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    customer_id: int,
    group: GroupBuyGroup,
    delivery: Delivery,
) -> Order:
    """A seat in ``group`` held by the joiner's order until it is paid or cancelled."""
    deal = session.get(GroupBuyDeal, group.deal_id)
    assert deal is not None
    campaign = registry.get(session, group.campaign_id, kind=KIND)
    phases.require_live(campaign)
    if _live_member(session, group.id, customer_id) is not None:
        raise AlreadyJoined(data={"group": group.public_id})
    _refuse_join(group)
    # The customer's own history: nothing another request can change under this one
    # except their own concurrent payment, which the rule does not try to win against.
    if deal.new_customers_only and has_paid_order(session, customer_id):
        raise NewCustomersOnly(data={"group": group.public_id})
    with session.begin_nested():
        _take_seat(session, group)
        _take_stock(session, deal)
        _take_tally(session, deal, customer_id)
        now = clock.now()
        member = GroupBuyMember(
            group_id=group.id,
            customer_id=customer_id,
            is_leader=False,
            status=MemberStatus.PENDING_PAYMENT.value,
            unit_price=deal.group_price,
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        try:
            session.flush()
        except IntegrityError as error:
            # A racing join by the same customer won the unique index.
            raise AlreadyJoined(data={"group": group.public_id}) from error
        order = _place(
            session,
            cipher,
            settings,
            deal=deal,
            campaign=campaign,
            member=member,
            delivery=delivery,
            referrer_customer_id=group.leader_customer_id,
        )
    session.refresh(group)
    return order


def on_placed(
    session: Session, order: Order, _lines: list[OrderLine], option: pricing.CampaignOption
) -> None:
    """In the order's transaction: tie the member to its order (a raise undoes both)."""
    member = session.get(GroupBuyMember, option.reference_id)
    if (
        member is None
        or member.customer_id != order.customer_id
        or member.order_id is not None
        or member.status != MemberStatus.PENDING_PAYMENT
    ):
        raise pricing.InvalidCampaignOrder(data={"reference_id": option.reference_id})
    member.order_id = order.id
    member.amount = order.total_amount
    session.flush()


pricing.register_placed(KIND, on_placed)
