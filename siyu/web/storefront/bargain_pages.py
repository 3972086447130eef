"""The storefront's bargain page at /shop/campaigns/bargain/{campaign}: a page shell
whose module (``/static/shop/bargain.js``) shows the product with its start and floor
prices and the "start bargaining" button; with ``?bargain=<public id>`` (the share
link) that bargain: the price bar from start to floor, the countdown, the helpers
with their cuts, and — for the initiator — the share link and the buy button, for a
friend the help button. A campaign customers may not see is the shop's 404."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.errors import CampaignNotFound
from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind
from siyu.web.storefront.pages import not_found, render

router = APIRouter(prefix="/shop")
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def shell(
    request: Request,
    session: SessionDep,
    kind: CampaignKind,
    public_id: str,
    params: dict[str, str],
) -> HTMLResponse:
    """The page shell of a visible campaign of ``kind``, or the shop's 404."""
    if not PUBLIC_ID.match(public_id) or any(
        value and not PUBLIC_ID.match(value) for value in params.values()
    ):
        return not_found(request)
    try:
        campaign = registry.get_public(session, public_id, kind=kind)
    except CampaignNotFound:
        return not_found(request)
    return render(
        request,
        page=kind.value,
        title_key=f"shop.{kind.value}.title",
        title=campaign.name,
        params={"campaign": public_id, **params},
    )


@router.get("/campaigns/bargain/{public_id}", response_class=HTMLResponse)
def bargain_page(
    request: Request,
    session: SessionDep,
    public_id: str,
    bargain: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    return shell(request, session, CampaignKind.BARGAIN, public_id, {"bargain": bargain})
