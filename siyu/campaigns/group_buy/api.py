"""Operator group-buy API under /api/v1/campaigns/group-buy (``campaigns.manage``):
create a campaign with its deals, add and edit deals, watch groups and counters.
Publishing and cancelling the campaign itself is the registry's (/api/v1/campaigns)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.campaigns.group_buy import deals, presenters, reads
from siyu.campaigns.group_buy.errors import DealNotFound, GroupNotFound
from siyu.campaigns.group_buy.schemas import (
    DealIn,
    DealOut,
    DealUpdate,
    GroupBuyIn,
    GroupBuyList,
    GroupBuyOut,
    GroupList,
    GroupOut,
)
from siyu.campaigns.registry import service as registry
from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind
from siyu.models.group_buy import GroupStatus
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/campaigns/group-buy", tags=["group buy"])

Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]
KIND = CampaignKind.GROUP_BUY


@router.get("", response_model=GroupBuyList)
def list_group_buys(session: SessionDep, _principal: Manager) -> GroupBuyList:
    campaigns = registry.list_campaigns(session, kind=KIND)
    return GroupBuyList(items=presenters.group_buys(session, campaigns))


@router.post("", response_model=GroupBuyOut, status_code=201)
def create_group_buy(body: GroupBuyIn, session: SessionDep, principal: Manager) -> GroupBuyOut:
    campaign, _deals = deals.create(session, principal, body)
    return presenters.group_buys(session, [campaign])[0]


@router.get("/{campaign_id:int}", response_model=GroupBuyOut)
def get_group_buy(campaign_id: int, session: SessionDep, _principal: Manager) -> GroupBuyOut:
    campaign = registry.get(session, campaign_id, kind=KIND)
    return presenters.group_buys(session, [campaign])[0]


@router.post("/{campaign_id:int}/deals", response_model=DealOut, status_code=201)
def add_deal(campaign_id: int, body: DealIn, session: SessionDep, principal: Manager) -> DealOut:
    campaign = registry.get(session, campaign_id, kind=KIND)
    return DealOut.model_validate(deals.add_deal(session, principal, campaign, body))


@router.patch("/{campaign_id:int}/deals/{deal_id:int}", response_model=DealOut)
def update_deal(
    campaign_id: int, deal_id: int, body: DealUpdate, session: SessionDep, principal: Manager
) -> DealOut:
    deal = deals.get(session, deal_id)
    if deal.campaign_id != campaign_id:
        raise DealNotFound(data={"deal_id": deal_id})
    return DealOut.model_validate(deals.update_deal(session, principal, deal, body))


@router.get("/{campaign_id:int}/groups", response_model=GroupList)
def list_groups(
    campaign_id: int,
    session: SessionDep,
    _principal: Manager,
    status: Annotated[GroupStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> GroupList:
    campaign = registry.get(session, campaign_id, kind=KIND)
    groups = reads.groups_of(
        session, campaign.id, status=status.value if status else None, limit=limit
    )
    return GroupList(items=reads.console_groups(session, groups))


@router.get("/groups/{public_id}", response_model=GroupOut)
def get_group(public_id: str, session: SessionDep, _principal: Manager) -> GroupOut:
    group = reads.group_by_public_id(session, public_id)
    if group is None:
        raise GroupNotFound(data={"group": public_id})
    return reads.console_groups(session, [group])[0]
