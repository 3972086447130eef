"""The storefront's promoter centre at /shop/promoter: a page shell whose module
(``/static/shop/promoter.js``) applies, shows the share code and link, earnings,
attributed commissions, the team and withdrawals, all from
/api/shop/v1/campaigns/referral. ``?invite=<code>`` pre-fills the inviter;
``?ref=<code>`` binds the signed-in visitor to that promoter."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.web.storefront.pages import render

router = APIRouter(prefix="/shop")


@router.get("/promoter", response_class=HTMLResponse)
def promoter_centre(request: Request, invite: str = "", ref: str = "") -> HTMLResponse:
    return render(
        request,
        page="promoter",
        title_key="shop.referral.title",
        params={"invite": invite[:16], "ref": ref[:16]},
    )
