"""Operator API of the campaign registry under /api/v1/campaigns.

Every mechanic's campaigns are listed, read, changed, published and cancelled here;
creating one goes through its mechanic (``/api/v1/campaigns/<slug>``), which creates
the registry row and its own settings in one transaction. Integer ids only match
``{campaign_id:int}``, so the mechanics' ``/api/v1/campaigns/<slug>`` routes never
collide with these.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from siyu.campaigns.registry import phases, presenters, service
from siyu.campaigns.registry.schemas import CampaignList, CampaignOut, CampaignUpdate, CancelIn
from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["campaigns"])
Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]


@router.get("/campaigns", response_model=CampaignList)
def list_campaigns(
    session: SessionDep,
    _principal: Manager,
    kind: CampaignKind | None = None,
    phase: phases.Phase | None = None,
) -> CampaignList:
    rows = service.list_campaigns(session, kind=kind, phase=phase)
    return CampaignList(items=presenters.campaigns_out(session, rows))


@router.get("/campaigns/{campaign_id:int}", response_model=CampaignOut)
def get_campaign(campaign_id: int, session: SessionDep, _principal: Manager) -> CampaignOut:
    return presenters.campaigns_out(session, [service.get(session, campaign_id)])[0]


@router.patch("/campaigns/{campaign_id:int}", response_model=CampaignOut)
def update_campaign(
    campaign_id: int, body: CampaignUpdate, session: SessionDep, principal: Manager
) -> CampaignOut:
    campaign = service.get(session, campaign_id)
    service.update(session, principal, campaign, body)
    return presenters.campaigns_out(session, [campaign])[0]


@router.post("/campaigns/{campaign_id:int}/publish", response_model=CampaignOut)
def publish_campaign(campaign_id: int, session: SessionDep, principal: Manager) -> CampaignOut:
    campaign = service.get(session, campaign_id)
    service.publish(session, principal, campaign)
    return presenters.campaigns_out(session, [campaign])[0]


@router.post("/campaigns/{campaign_id:int}/cancel", response_model=CampaignOut)
def cancel_campaign(
    campaign_id: int, body: CancelIn, session: SessionDep, principal: Manager
) -> CampaignOut:
    campaign = service.get(session, campaign_id)
    service.cancel(session, principal, campaign, reason=body.reason)
    return presenters.campaigns_out(session, [campaign])[0]
