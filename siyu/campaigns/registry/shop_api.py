"""Storefront: the campaigns on now (warm-up, live, closing), for the home page's
campaign strip and /shop/campaigns. Public: no session needed."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.campaigns.registry import presenters, service
from siyu.campaigns.registry.schemas import ShopCampaignList
from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind

router = APIRouter(prefix="/api/shop/v1", tags=["storefront"])


@router.get("/campaigns", response_model=ShopCampaignList)
def campaigns_on_now(session: SessionDep, kind: CampaignKind | None = None) -> ShopCampaignList:
    # Referral is a programme, not an event: the promoter centre links it.
    rows = [row for row in service.visible(session, kind=kind) if row.kind != CampaignKind.REFERRAL]
    return ShopCampaignList(items=presenters.shop_campaigns_out(rows))
