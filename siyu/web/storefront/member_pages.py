"""The storefront's member centre at /shop/member: a page shell whose module
(``/static/shop/member.js``) shows the tier card, progress to the next tier, points
(available, frozen, expiring) and their history from /api/shop/v1/member, with links
to my coupons and the points mall."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.web.storefront.pages import render

router = APIRouter(prefix="/shop")


@router.get("/member", response_class=HTMLResponse)
def member_centre(request: Request) -> HTMLResponse:
    return render(request, page="member", title_key="shop.member.title", tab="member")
