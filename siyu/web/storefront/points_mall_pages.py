"""The storefront's points mall at /shop/points-mall: a page shell whose module
(``/static/shop/points_mall.js``) lists the items from /api/shop/v1/points-mall and
exchanges them — a coupon is "已兑换" at once, goods go on to their order page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.web.storefront.pages import render

router = APIRouter(prefix="/shop")


@router.get("/points-mall", response_class=HTMLResponse)
def points_mall(request: Request) -> HTMLResponse:
    return render(request, page="points_mall", title_key="shop.points_mall.title")
