"""The consumers' H5 storefront at /shop: page shells that call /api/shop/v1 from the browser."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.web.storefront import coupon_pages, member_pages, pages, points_mall_pages


def storefront_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(pages.router)
    # Domain page modules (member centre, coupon centre, points mall) go here.
    router.include_router(points_mall_pages.router)
    router.include_router(coupon_pages.router)
    router.include_router(member_pages.router)
    # Last: anything else under /shop is the shop's 404 page.
    router.include_router(pages.fallback_router)
    return router
