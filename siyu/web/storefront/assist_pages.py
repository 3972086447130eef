"""The storefront's assist page at /shop/campaigns/assist/{campaign}: a page shell
whose module (``/static/shop/assist.js``) shows the reward and N, the "start" button,
and with ``?assist=<public id>`` (the share link) that assist's progress, helpers and
countdown — for the initiator the share link and, once unlocked, the reward (the
coupon's code, or the 0-yuan claim of the gift with an address); for a friend the
assist button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind
from siyu.web.storefront.bargain_pages import shell

router = APIRouter(prefix="/shop")


@router.get("/campaigns/assist/{public_id}", response_class=HTMLResponse)
def assist_page(
    request: Request,
    session: SessionDep,
    public_id: str,
    assist: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    return shell(request, session, CampaignKind.ASSIST, public_id, {"assist": assist})
