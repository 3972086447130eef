"""The storefront's lottery wheel at /shop/campaigns/lottery/{public_id}: a page shell
whose module (``/static/shop/lottery.js``) reads the wheel and my chances from
/api/shop/v1/campaigns/lottery, spins to the server's result, lists my prizes (goods
are claimed with an address) and shows my share poster."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.web.storefront.pages import not_found, render

router = APIRouter(prefix="/shop")
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@router.get("/campaigns/lottery/{public_id}", response_class=HTMLResponse)
def lottery_wheel(request: Request, public_id: str) -> HTMLResponse:
    if not _PUBLIC_ID.match(public_id):
        return not_found(request)
    return render(
        request, page="lottery", title_key="shop.lottery.title", params={"campaign": public_id}
    )
