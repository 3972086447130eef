"""Operator flash-sale API under /api/v1/campaigns/flash-sale (``campaigns.manage``).

Create a flash sale (campaign + sessions + items), read it with live counters,
change a session before it starts, publish (fixes each session's stock engine),
and audit a session's stock invariant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from siyu.campaigns.flash_sale import audit, presenters, service, tasks
from siyu.campaigns.flash_sale.schemas import (
    AuditOut,
    FlashSaleIn,
    FlashSaleList,
    FlashSaleOut,
    SessionUpdate,
)
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.errors import CampaignNotFound
from siyu.core.http import SessionDep, SettingsDep
from siyu.models.campaign import Campaign
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/campaigns/flash-sale", tags=["campaigns"])
Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]


def _campaign(session: SessionDep, public_id: str) -> Campaign:
    campaign = session.scalars(select(Campaign).where(Campaign.public_id == public_id)).first()
    if campaign is None or campaign.kind != service.KIND.value:
        raise CampaignNotFound(data={"campaign": public_id})
    return campaign


@router.post("", response_model=FlashSaleOut, status_code=201)
def create(
    body: FlashSaleIn, session: SessionDep, settings: SettingsDep, principal: Manager
) -> FlashSaleOut:
    campaign = service.create(session, principal, body, redis_url=settings.redis_url)
    return presenters.flash_sales_out(session, [campaign])[0]


@router.get("", response_model=FlashSaleList)
def list_flash_sales(session: SessionDep, _principal: Manager) -> FlashSaleList:
    campaigns = registry.list_campaigns(session, kind=service.KIND, limit=100)
    return FlashSaleList(items=presenters.flash_sales_out(session, campaigns))


@router.get("/{public_id}", response_model=FlashSaleOut)
def get_flash_sale(public_id: str, session: SessionDep, _principal: Manager) -> FlashSaleOut:
    return presenters.flash_sales_out(session, [_campaign(session, public_id)])[0]


@router.post("/{public_id}/publish", response_model=FlashSaleOut)
def publish(
    public_id: str, session: SessionDep, settings: SettingsDep, principal: Manager
) -> FlashSaleOut:
    campaign = _campaign(session, public_id)
    service.publish(session, principal, campaign, redis_url=settings.redis_url)
    return presenters.flash_sales_out(session, [campaign])[0]


@router.patch("/sessions/{session_id}", response_model=FlashSaleOut)
def update_session(
    session_id: str, body: SessionUpdate, session: SessionDep, principal: Manager
) -> FlashSaleOut:
    row = service.get_session(session, session_id)
    service.update_session(session, principal, row, body)
    campaign = registry.get(session, row.campaign_id, kind=service.KIND)
    return presenters.flash_sales_out(session, [campaign])[0]


@router.get("/sessions/{session_id}/audit", response_model=AuditOut)
def audit_session(
    session_id: str, session: SessionDep, request: Request, _principal: Manager
) -> AuditOut:
    row = service.get_session(session, session_id)
    return audit.check(session, row, tasks.redis_stock_for(request.app.state.redis))
