"""The consumers' H5 storefront at /shop: page shells that call /api/shop/v1 from the browser."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.web.storefront import (
    assist_pages,
    bargain_pages,
    campaign_pages,
    coupon_pages,
    flash_sale_pages,
    group_buy_pages,
    lottery_pages,
    member_pages,
    pages,
    points_mall_pages,
    referral_pages,
)


def storefront_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(pages.router)
    # Domain page modules (member centre, coupon centre, points mall) go here.
    router.include_router(points_mall_pages.router)
    router.include_router(coupon_pages.router)
    router.include_router(member_pages.router)
    router.include_router(campaign_pages.router)
    router.include_router(flash_sale_pages.router)
    router.include_router(group_buy_pages.router)
    router.include_router(lottery_pages.router)
    router.include_router(referral_pages.router)
    router.include_router(bargain_pages.router)
    router.include_router(assist_pages.router)
    # Last: anything else under /shop is the shop's 404 page.
    router.include_router(pages.fallback_router)
    return router
