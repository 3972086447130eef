"""Operator API of the bargain mechanic under /api/v1/campaigns/bargain
(``campaigns.manage``): create a bargain campaign, list and read deals with live
counters, list a campaign's bargains, and audit one bargain's cuts against its seed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.campaigns import common_deals
from siyu.campaigns.bargain import bargains, plan_audit, service
from siyu.campaigns.bargain.presenters import bargain_out
from siyu.campaigns.bargain.schemas import (
    AuditOut,
    BargainList,
    CampaignDealList,
    CampaignDealOut,
    DealIn,
    DealOut,
)
from siyu.campaigns.registry import presenters
from siyu.core.http import SessionDep
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/campaigns/bargain", tags=["campaigns"])
Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]


@router.post("", response_model=CampaignDealOut, status_code=201)
def create_deal(body: DealIn, session: SessionDep, principal: Manager) -> CampaignDealOut:
    campaign, deal = service.create(session, principal, body)
    return CampaignDealOut(
        campaign=presenters.campaigns_out(session, [campaign])[0],
        deal=DealOut.model_validate(deal),
    )


@router.get("", response_model=CampaignDealList)
def list_deals(session: SessionDep, _principal: Manager) -> CampaignDealList:
    pairs = common_deals.with_campaign_outs(session, service.list_deals(session))
    return CampaignDealList(
        items=[
            CampaignDealOut(campaign=out, deal=DealOut.model_validate(deal)) for out, deal in pairs
        ]
    )


@router.get("/{campaign_id:int}", response_model=CampaignDealOut)
def get_deal(campaign_id: int, session: SessionDep, _principal: Manager) -> CampaignDealOut:
    campaign, deal = service.get(session, campaign_id)
    return CampaignDealOut(
        campaign=presenters.campaigns_out(session, [campaign])[0],
        deal=DealOut.model_validate(deal),
    )


@router.get("/{campaign_id:int}/bargains", response_model=BargainList)
def list_bargains(
    campaign_id: int,
    session: SessionDep,
    _principal: Manager,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> BargainList:
    campaign, _deal = service.get(session, campaign_id)
    rows = bargains.list_for_campaign(session, campaign.id, limit=limit)
    return BargainList(items=[bargain_out(row) for row in rows])


@router.get("/bargains/{public_id}/audit", response_model=AuditOut)
def audit_bargain(public_id: str, session: SessionDep, _principal: Manager) -> AuditOut:
    return plan_audit.audit(session, bargains.by_public_id(session, public_id))
