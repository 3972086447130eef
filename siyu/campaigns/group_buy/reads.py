"""Reading group buy: live counters per campaign (one query), groups with their
members for the console, and the storefront's masked view of a group."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, case, distinct, func, select
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy.schemas import (
    GroupOut,
    MemberOut,
    ShopGroupOut,
    ShopMemberOut,
)
from siyu.customers.profile import mask_name
from siyu.models.customer import Customer
from siyu.models.group_buy import (
    GroupBuyDeal,
    GroupBuyGroup,
    GroupBuyMember,
    GroupStatus,
    MemberStatus,
)
from siyu.models.order import Order

SHARE_PATH = "/shop/campaigns/group-buy/{deal}?group={group}"
COUNTER_KEYS = (
    "groups_opened",
    "groups_open",
    "groups_filled",
    "groups_failed",
    "group_members",
    "group_gmv_amount",
    "group_refunds",
    "group_refunded_amount",
)


def counters(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Groups opened/open/filled/failed, paying members, GMV (paid, not refunded) and
    refunds, per campaign, in one query."""
    if not campaign_ids:
        return {}
    group = GroupBuyGroup
    member = GroupBuyMember
    opened = (GroupStatus.OPEN, GroupStatus.FILLED, GroupStatus.FAILED)

    def groups_in(*statuses: GroupStatus) -> ColumnElement[int]:
        return func.count(distinct(case((group.status.in_(statuses), group.id))))

    refunded = member.status.in_([MemberStatus.REFUNDING, MemberStatus.REFUNDED])
    rows = session.execute(
        select(
            group.campaign_id,
            groups_in(*opened).label("groups_opened"),
            groups_in(GroupStatus.OPEN).label("groups_open"),
            groups_in(GroupStatus.FILLED).label("groups_filled"),
            groups_in(GroupStatus.FAILED).label("groups_failed"),
            func.count(member.paid_at).label("group_members"),
            func.coalesce(
                func.sum(case((member.status == MemberStatus.PAID, member.amount), else_=0)), 0
            ).label("group_gmv_amount"),
            func.count(case((refunded, member.id))).label("group_refunds"),
            func.coalesce(
                func.sum(case((member.status == MemberStatus.REFUNDED, member.amount), else_=0)),
                0,
            ).label("group_refunded_amount"),
        )
        .select_from(group)
        .outerjoin(member, member.group_id == group.id)
        .where(group.campaign_id.in_(list(campaign_ids)))
        .group_by(group.campaign_id)
    )
    figures = {campaign_id: dict.fromkeys(COUNTER_KEYS, 0) for campaign_id in campaign_ids}
    for row in rows:
        figures[row.campaign_id] = {key: int(getattr(row, key)) for key in COUNTER_KEYS}
    return figures


def group_by_public_id(session: Session, public_id: str) -> GroupBuyGroup | None:
    return session.scalars(
        select(GroupBuyGroup).where(GroupBuyGroup.public_id == public_id)
    ).first()


def groups_of(
    session: Session, campaign_id: int, *, status: str | None = None, limit: int = 100
) -> list[GroupBuyGroup]:
    statement = (
        select(GroupBuyGroup)
        .where(GroupBuyGroup.campaign_id == campaign_id)
        .order_by(GroupBuyGroup.id.desc())
        .limit(min(max(limit, 1), 500))
    )
    if status:
        statement = statement.where(GroupBuyGroup.status == status)
    return list(session.scalars(statement))


def _members(session: Session, group_ids: list[int]) -> dict[int, list[GroupBuyMember]]:
    found: dict[int, list[GroupBuyMember]] = {group_id: [] for group_id in group_ids}
    if not group_ids:
        return found
    rows = session.scalars(
        select(GroupBuyMember)
        .where(GroupBuyMember.group_id.in_(group_ids))
        .order_by(GroupBuyMember.is_leader.desc(), GroupBuyMember.id)
    )
    for row in rows:
        found[row.group_id].append(row)
    return found


def _deal_ids(session: Session, groups: Sequence[GroupBuyGroup]) -> dict[int, str]:
    ids = {group.deal_id for group in groups}
    if not ids:
        return {}
    rows = session.execute(
        select(GroupBuyDeal.id, GroupBuyDeal.public_id).where(GroupBuyDeal.id.in_(ids))
    )
    return {row.id: row.public_id for row in rows}


def _names(session: Session, customer_ids: set[int]) -> dict[int, str | None]:
    if not customer_ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids)))
    return {row.id: row.name for row in rows}


def console_groups(session: Session, groups: Sequence[GroupBuyGroup]) -> list[GroupOut]:
    """Groups with members for operators; names masked (the console's PII rule)."""
    members = _members(session, [group.id for group in groups])
    everyone = [row for rows in members.values() for row in rows]
    names = _names(session, {row.customer_id for row in everyone})
    order_ids = [row.order_id for row in everyone if row.order_id is not None]
    orders = (
        {
            row.id: row.public_id
            for row in session.execute(
                select(Order.id, Order.public_id).where(Order.id.in_(order_ids))
            )
        }
        if order_ids
        else {}
    )
    deals = _deal_ids(session, groups)
    return [
        GroupOut(
            public_id=group.public_id,
            deal_public_id=deals[group.deal_id],
            status=group.status,
            size=group.size,
            member_count=group.member_count,
            paid_count=group.paid_count,
            virtual_completion=group.virtual_completion,
            virtual_seats=group.virtual_seats,
            opened_at=group.opened_at,
            expires_at=group.expires_at,
            filled_at=group.filled_at,
            failed_at=group.failed_at,
            members=[
                MemberOut(
                    customer_id=row.customer_id,
                    name=mask_name(names.get(row.customer_id)) or f"#{row.customer_id}",
                    is_leader=row.is_leader,
                    status=row.status,
                    order_public_id=orders.get(row.order_id) if row.order_id else None,
                    amount=row.amount,
                    joined_at=row.created_at,
                    paid_at=row.paid_at,
                )
                for row in members[group.id]
            ],
        )
        for group in groups
    ]


def _shop_name(name: str | None, is_leader: bool) -> str:
    masked = mask_name(name)
    if masked:
        return masked
    return "团长" if is_leader else "拼团好友"


def shop_groups(
    session: Session, groups: Sequence[GroupBuyGroup], customer_id: int
) -> list[ShopGroupOut]:
    """What a customer sees of groups: masked names of the paying (and seat-holding)
    members, never who they are."""
    members = _members(session, [group.id for group in groups])
    names = _names(session, {row.customer_id for rows in members.values() for row in rows})
    deals = _deal_ids(session, groups)
    mine = {
        row.group_id: row.order_id
        for rows in members.values()
        for row in rows
        if row.customer_id == customer_id
        and row.status != MemberStatus.CANCELLED
        and row.order_id is not None
    }
    my_orders = (
        {
            row.id: row.public_id
            for row in session.execute(
                select(Order.id, Order.public_id).where(Order.id.in_(list(mine.values())))
            )
        }
        if mine
        else {}
    )
    views = []
    for group in groups:
        shown = [
            row
            for row in members[group.id]
            if row.status
            in (MemberStatus.PAID, MemberStatus.PENDING_PAYMENT, MemberStatus.REFUNDING)
            or (row.status == MemberStatus.REFUNDED and group.status == GroupStatus.FAILED)
        ]
        entries = []
        for row in shown:
            name = _shop_name(names.get(row.customer_id), row.is_leader)
            entries.append(
                ShopMemberOut(
                    name=name,
                    initial=name[0],
                    is_leader=row.is_leader,
                    is_me=row.customer_id == customer_id,
                    paid=row.paid_at is not None,
                )
            )
        views.append(
            ShopGroupOut(
                public_id=group.public_id,
                deal_public_id=deals[group.deal_id],
                status=group.status,
                size=group.size,
                member_count=group.member_count,
                paid_count=group.paid_count,
                seats_left=max(group.size - group.member_count, 0)
                if group.status == GroupStatus.OPEN
                else 0,
                expires_at=group.expires_at,
                virtual_completion=group.virtual_completion,
                virtual_seats=group.virtual_seats,
                share_path=SHARE_PATH.format(deal=deals[group.deal_id], group=group.public_id),
                members=entries,
                is_mine=any(entry.is_me for entry in entries),
                my_order_public_id=my_orders.get(mine[group.id]) if group.id in mine else None,
            )
        )
    return views


def open_groups_of_deal(session: Session, deal_id: int, *, limit: int = 10) -> list[GroupBuyGroup]:
    """Joinable groups, the closest to filling first (what the deal page offers)."""
    return list(
        session.scalars(
            select(GroupBuyGroup)
            .where(GroupBuyGroup.deal_id == deal_id, GroupBuyGroup.status == GroupStatus.OPEN)
            .order_by((GroupBuyGroup.size - GroupBuyGroup.member_count), GroupBuyGroup.expires_at)
            .limit(limit)
        )
    )


def groups_of_customer(
    session: Session, customer_id: int, *, limit: int = 50
) -> list[GroupBuyGroup]:
    group_ids = select(GroupBuyMember.group_id).where(
        GroupBuyMember.customer_id == customer_id,
        GroupBuyMember.status != MemberStatus.CANCELLED,
    )
    return list(
        session.scalars(
            select(GroupBuyGroup)
            .where(GroupBuyGroup.id.in_(group_ids))
            .order_by(GroupBuyGroup.id.desc())
            .limit(limit)
        )
    )
