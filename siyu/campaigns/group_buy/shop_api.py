"""Storefront group buy under /api/shop/v1/campaigns/group-buy: a deal with its joinable
groups, a group (by its share link's id), opening a group, joining one, and my groups.

Opening and joining answer with the order to pay (the storefront's order page takes
over); the group opens, or the seat becomes the member's, when that order is paid.
Other members appear with masked names only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy import deals, participation, reads
from siyu.campaigns.group_buy.errors import GroupNotFound
from siyu.campaigns.group_buy.participation import Delivery
from siyu.campaigns.group_buy.schemas import (
    ParticipateIn,
    ParticipationOut,
    ShopDealOut,
    ShopGroupOut,
    ShopMyGroups,
)
from siyu.campaigns.registry import phases
from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.customers.sessions import CurrentCustomer, ShopCustomer
from siyu.models.catalog import Product, Sku
from siyu.models.group_buy import GroupBuyGroup, GroupBuyMember, GroupStatus

router = APIRouter(prefix="/api/shop/v1/campaigns/group-buy", tags=["storefront"])

PublicId = Annotated[str, Path(min_length=1, max_length=40)]


def _delivery(body: ParticipateIn, customer: ShopCustomer) -> Delivery:
    return Delivery(
        fulfilment=body.fulfilment,
        pickup_store_id=body.pickup_store_id,
        address=body.address.model_dump() if body.address else None,
        touchpoint=customer.touchpoint,
    )


def _visible_group(session: Session, public_id: str, customer_id: int) -> GroupBuyGroup:
    """Open, filled and failed groups are anyone's to see through the link; a pending
    or cancelled one only its own members'."""
    group = reads.group_by_public_id(session, public_id)
    if group is None:
        raise GroupNotFound(data={"group": public_id})
    if group.status in (GroupStatus.PENDING, GroupStatus.CANCELLED):
        member = session.scalar(
            select(GroupBuyMember.id).where(
                GroupBuyMember.group_id == group.id, GroupBuyMember.customer_id == customer_id
            )
        )
        if member is None:
            raise GroupNotFound(data={"group": public_id})
    return group


@router.get("/mine", response_model=ShopMyGroups)
def my_groups(customer: CurrentCustomer, session: SessionDep) -> ShopMyGroups:
    groups = reads.groups_of_customer(session, customer.customer_id)
    return ShopMyGroups(items=reads.shop_groups(session, groups, customer.customer_id))


@router.get("/groups/{public_id}", response_model=ShopGroupOut)
def get_group(public_id: PublicId, customer: CurrentCustomer, session: SessionDep) -> ShopGroupOut:
    group = _visible_group(session, public_id, customer.customer_id)
    return reads.shop_groups(session, [group], customer.customer_id)[0]


@router.post("/groups/{public_id}/join", response_model=ParticipationOut, status_code=201)
def join_group(
    public_id: PublicId,
    body: ParticipateIn,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
) -> ParticipationOut:
    group = participation.group_by_public_id(session, public_id)
    order = participation.join_group(
        session, cipher, settings, customer.customer_id, group, _delivery(body, customer)
    )
    view = reads.shop_groups(session, [group], customer.customer_id)[0]
    return ParticipationOut(group=view, order_public_id=order.public_id, amount=order.total_amount)


@router.get("/{public_id}", response_model=ShopDealOut)
def get_deal(public_id: PublicId, customer: CurrentCustomer, session: SessionDep) -> ShopDealOut:
    deal, campaign = deals.public_deal(session, public_id)
    sku = session.get(Sku, deal.sku_id)
    product = session.get(Product, sku.product_id) if sku is not None else None
    assert sku is not None
    assert product is not None
    groups = [
        group
        for group in reads.open_groups_of_deal(session, deal.id)
        if group.member_count < group.size
    ]
    return ShopDealOut(
        public_id=deal.public_id,
        title=deal.title,
        campaign_public_id=campaign.public_id,
        campaign_name=campaign.name,
        phase=phases.phase_of(campaign).value,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        sku_id=sku.id,
        product_name=product.name,
        image=sku.image or (product.images[0] if product.images else None),
        sale_price=sku.sale_price,
        group_price=deal.group_price,
        leader_price=deal.leader_price,
        group_size=deal.group_size,
        time_limit_minutes=deal.time_limit_minutes,
        new_customers_only=deal.new_customers_only,
        virtual_completion=deal.virtual_completion,
        stock_left=deal.stock_left,
        open_groups=reads.shop_groups(session, groups, customer.customer_id),
    )


@router.post("/{public_id}/groups", response_model=ParticipationOut, status_code=201)
def open_group(
    public_id: PublicId,
    body: ParticipateIn,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
) -> ParticipationOut:
    deal, _campaign = deals.public_deal(session, public_id)
    group, order = participation.open_group(
        session, cipher, settings, customer.customer_id, deal, _delivery(body, customer)
    )
    view = reads.shop_groups(session, [group], customer.customer_id)[0]
    return ParticipationOut(group=view, order_public_id=order.public_id, amount=order.total_amount)
