"""The storefront's campaign list at /shop/campaigns: what is on now (warm-up, live,
closing) with a countdown each; every card opens its mechanic's page. The shell's
module ``/static/shop/campaigns.js`` reads /api/shop/v1/campaigns."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.web.storefront.pages import render

router = APIRouter(prefix="/shop")


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_on_now(request: Request) -> HTMLResponse:
    return render(request, page="campaigns", title_key="shop.campaigns.title")
