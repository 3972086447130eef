"""The storefront's coupon pages: the coupon centre (/shop/coupons), my coupons
(/shop/coupons/mine) and a share link (/shop/coupons/link/{public_id}). Each is a
page shell whose module (``/static/shop/coupon_*.js``) reads /api/shop/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from siyu.web.storefront.pages import render

router = APIRouter(prefix="/shop")


@router.get("/coupons", response_class=HTMLResponse)
def coupon_centre(request: Request) -> HTMLResponse:
    return render(request, page="coupon_centre", title_key="shop.coupons.title")


@router.get("/coupons/mine", response_class=HTMLResponse)
def my_coupons(request: Request) -> HTMLResponse:
    return render(request, page="coupon_mine", title_key="shop.coupons.mine")


@router.get("/coupons/link/{public_id}", response_class=HTMLResponse)
def coupon_link(
    request: Request, public_id: Annotated[str, Path(min_length=1, max_length=40)]
) -> HTMLResponse:
    return render(
        request,
        page="coupon_link",
        title_key="shop.coupons.link_title",
        params={"public_id": public_id},
    )
