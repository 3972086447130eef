"""Storefront bargain API under /api/shop/v1/campaigns/bargain.

Anyone with a share link may look at a bargain (helpers are shown masked); starting,
helping and buying need a customer session, and helping also a reachable identity
(``siyu.campaigns.helping``). Only the initiator sees their order.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from siyu.campaigns.bargain import bargains, service
from siyu.campaigns.bargain.presenters import product_of, shop_bargain_out
from siyu.campaigns.bargain.schemas import BuyIn, BuyOut, HelpOut, ShopBargainOut, ShopDealOut
from siyu.campaigns.registry import phases
from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.customers.sessions import CurrentCustomer, ShopCustomer, resolve_token, token_from_headers

router = APIRouter(prefix="/api/shop/v1/campaigns/bargain", tags=["storefront"])


def optional_customer(request: Request, session: SessionDep) -> ShopCustomer | None:
    return resolve_token(session, token_from_headers(request))


MaybeCustomer = Annotated[ShopCustomer | None, Depends(optional_customer)]


@router.get("/{campaign_public_id}", response_model=ShopDealOut)
def get_deal(campaign_public_id: str, session: SessionDep, customer: MaybeCustomer) -> ShopDealOut:
    campaign, deal = service.get_public(session, campaign_public_id)
    product_name, image = product_of(session, deal.sku_id)
    mine = None
    if customer is not None:
        live = bargains.latest_of(session, deal.id, customer.customer_id)
        mine = live.public_id if live is not None else None
    return ShopDealOut(
        campaign_id=campaign.public_id,
        name=campaign.name,
        description=campaign.description,
        phase=phases.phase_of(campaign).value,
        ends_at=campaign.ends_at,
        sku_id=deal.sku_id,
        product_name=product_name,
        image=image,
        start_price=deal.start_price,
        floor_price=deal.floor_price,
        expected_helpers=deal.expected_helpers,
        stock_left=deal.stock_left,
        my_bargain=mine,
    )


@router.post("/{campaign_public_id}/bargains", response_model=ShopBargainOut, status_code=201)
def start_bargain(
    campaign_public_id: str, session: SessionDep, customer: CurrentCustomer
) -> ShopBargainOut:
    campaign, deal = service.get_public(session, campaign_public_id)
    bargain = bargains.start(session, campaign, deal, customer.customer_id)
    return shop_bargain_out(session, bargain, customer.customer_id)


@router.get("/bargains/{public_id}", response_model=ShopBargainOut)
def get_bargain(public_id: str, session: SessionDep, customer: MaybeCustomer) -> ShopBargainOut:
    bargain = bargains.by_public_id(session, public_id)
    return shop_bargain_out(session, bargain, customer.customer_id if customer else None)


@router.post("/bargains/{public_id}/helps", response_model=HelpOut, status_code=201)
def help_bargain(public_id: str, session: SessionDep, customer: CurrentCustomer) -> HelpOut:
    bargain = bargains.by_public_id(session, public_id)
    result = bargains.help_bargain(session, bargain, customer.customer_id)
    return HelpOut(
        sequence=result.help.sequence,
        cut_amount=result.help.cut_amount,
        price_after=result.help.price_after,
        coupon_code=result.coupon_code,
        bargain=shop_bargain_out(session, bargain, customer.customer_id),
    )


@router.post("/bargains/{public_id}/order", response_model=BuyOut, status_code=201)
def buy(
    public_id: str,
    body: BuyIn,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
    customer: CurrentCustomer,
) -> BuyOut:
    bargain = bargains.by_public_id(session, public_id)
    order = bargains.buy(
        session,
        cipher,
        settings,
        bargain,
        customer.customer_id,
        body.request(customer.touchpoint),
    )
    return BuyOut(
        order_public_id=order.public_id,
        total_amount=order.total_amount,
        unit_price=bargain.ordered_price or 0,
        bargain=shop_bargain_out(session, bargain, customer.customer_id),
    )
