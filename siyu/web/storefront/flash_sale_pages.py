"""The storefront's flash-sale page at /shop/campaigns/flash-sale/{public_id}: a page
shell whose module (``/static/shop/flash_sale.js``) reads the sessions from
/api/shop/v1/campaigns/flash-sale, counts down (warm-up → live → ended) against the
server's clock, reserves on "抢购" and follows the reservation to its order, which is
paid on the ordinary order page."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.web.storefront.pages import not_found, render

router = APIRouter(prefix="/shop")
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@router.get("/campaigns/flash-sale/{public_id}", response_class=HTMLResponse)
def flash_sale_page(request: Request, public_id: str) -> HTMLResponse:
    if not _PUBLIC_ID.match(public_id):
        return not_found(request)
    return render(
        request,
        page="flash_sale",
        title_key="shop.flash_sale.title",
        params={"campaign": public_id},
    )
