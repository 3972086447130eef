"""Storefront assist API under /api/shop/v1/campaigns/assist.

Anyone with a share link may look at an assist (helpers masked); starting, assisting
and claiming need a customer session, and assisting also a reachable identity
(``siyu.campaigns.helping``). Only the initiator sees their reward code and order.
"""

from __future__ import annotations

from fastapi import APIRouter

from siyu.campaigns.assist import assists, service
from siyu.campaigns.assist.presenters import reward_of, shop_assist_out
from siyu.campaigns.assist.schemas import ClaimIn, ClaimOut, HelpOut, ShopAssistOut, ShopDealOut
from siyu.campaigns.bargain.shop_api import MaybeCustomer
from siyu.campaigns.registry import phases
from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.customers.sessions import CurrentCustomer

router = APIRouter(prefix="/api/shop/v1/campaigns/assist", tags=["storefront"])


@router.get("/{campaign_public_id}", response_model=ShopDealOut)
def get_deal(campaign_public_id: str, session: SessionDep, customer: MaybeCustomer) -> ShopDealOut:
    campaign, deal = service.get_public(session, campaign_public_id)
    reward_name, image = reward_of(session, deal)
    mine = None
    if customer is not None:
        latest = assists.latest_of(session, deal.id, customer.customer_id)
        mine = latest.public_id if latest is not None else None
    return ShopDealOut(
        campaign_id=campaign.public_id,
        name=campaign.name,
        description=campaign.description,
        phase=phases.phase_of(campaign).value,
        ends_at=campaign.ends_at,
        required_assists=deal.required_assists,
        reward_kind=deal.reward_kind,
        reward_name=reward_name,
        image=image,
        rewards_left=deal.reward_stock_left,
        my_assist=mine,
    )


@router.post("/{campaign_public_id}/assists", response_model=ShopAssistOut, status_code=201)
def start_assist(
    campaign_public_id: str, session: SessionDep, customer: CurrentCustomer
) -> ShopAssistOut:
    campaign, deal = service.get_public(session, campaign_public_id)
    assist = assists.start(session, campaign, deal, customer.customer_id)
    return shop_assist_out(session, assist, customer.customer_id)


@router.get("/assists/{public_id}", response_model=ShopAssistOut)
def get_assist(public_id: str, session: SessionDep, customer: MaybeCustomer) -> ShopAssistOut:
    assist = assists.by_public_id(session, public_id)
    return shop_assist_out(session, assist, customer.customer_id if customer else None)


@router.post("/assists/{public_id}/helps", response_model=HelpOut, status_code=201)
def help_assist(public_id: str, session: SessionDep, customer: CurrentCustomer) -> HelpOut:
    assist = assists.by_public_id(session, public_id)
    result = assists.help_assist(session, assist, customer.customer_id)
    return HelpOut(
        sequence=result.help.sequence,
        coupon_code=result.coupon_code,
        assist=shop_assist_out(session, assist, customer.customer_id),
    )


@router.post("/assists/{public_id}/claim", response_model=ClaimOut, status_code=201)
def claim(
    public_id: str,
    body: ClaimIn,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
    customer: CurrentCustomer,
) -> ClaimOut:
    assist = assists.by_public_id(session, public_id)
    order = assists.claim_gift(
        session,
        cipher,
        settings,
        assist,
        customer.customer_id,
        body.request(customer.touchpoint),
    )
    return ClaimOut(
        order_public_id=order.public_id,
        total_amount=order.total_amount,
        order_status=order.status,
        assist=shop_assist_out(session, assist, customer.customer_id),
    )
