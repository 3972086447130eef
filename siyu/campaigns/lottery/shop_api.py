"""Storefront lottery under /api/shop/v1/campaigns/lottery: the wheel with my chances,
drawing, my draws and prizes, and claiming a goods prize with an address. A customer
only ever sees their own draws."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from siyu.campaigns.lottery import claims, draws, reads, setup
from siyu.campaigns.lottery.schemas import ClaimIn, ShopDrawList, ShopDrawOut, ShopLotteryOut
from siyu.campaigns.registry import service as registry
from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.customers.sessions import CurrentCustomer
from siyu.models.campaign import CampaignKind

router = APIRouter(prefix="/api/shop/v1/campaigns/lottery", tags=["storefront"])
Limit = Annotated[int, Query(ge=1, le=reads.MAX_LIMIT)]


@router.get("/prizes", response_model=ShopDrawList)
def my_prizes(customer: CurrentCustomer, session: SessionDep, limit: Limit = 50) -> ShopDrawList:
    """Everything I won, in every lottery (also ended ones: goods stay claimable)."""
    rows = reads.customer_draws(session, customer.customer_id, won_only=True, limit=limit)
    return ShopDrawList(items=reads.shop_draws(session, rows))


@router.post("/prizes/{draw_id}/claim", response_model=ShopDrawOut)
def claim_prize(
    draw_id: str,
    body: ClaimIn,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
) -> ShopDrawOut:
    row, _order = claims.claim(
        session,
        cipher,
        settings,
        customer.customer_id,
        draw_id,
        address=body.address.model_dump(),
        note=body.note,
        touchpoint=customer.touchpoint,
    )
    session.refresh(row)
    return reads.shop_draws(session, [row])[0]


@router.get("/{public_id}", response_model=ShopLotteryOut)
def get_lottery(public_id: str, customer: CurrentCustomer, session: SessionDep) -> ShopLotteryOut:
    campaign = registry.get_public(session, public_id, kind=CampaignKind.LOTTERY)
    lottery = setup.lottery_of(session, campaign)
    return reads.shop_lottery(session, campaign, lottery, customer.customer_id)


@router.post("/{public_id}/draws", response_model=ShopDrawOut, status_code=201)
def draw(public_id: str, customer: CurrentCustomer, session: SessionDep) -> ShopDrawOut:
    campaign = registry.get_public(session, public_id, kind=CampaignKind.LOTTERY)
    result = draws.draw(session, campaign, customer.customer_id)
    return reads.shop_draws(session, [result.draw], chances_left=result.chances_left)[0]


@router.get("/{public_id}/draws", response_model=ShopDrawList)
def my_draws(
    public_id: str, customer: CurrentCustomer, session: SessionDep, limit: Limit = 50
) -> ShopDrawList:
    campaign = registry.get_public(session, public_id, kind=CampaignKind.LOTTERY)
    rows = reads.customer_draws(session, customer.customer_id, campaign_id=campaign.id, limit=limit)
    return ShopDrawList(items=reads.shop_draws(session, rows))
