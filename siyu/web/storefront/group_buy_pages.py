"""The storefront's group-buy page at /shop/campaigns/group-buy/{deal}: a page shell
whose module (``/static/shop/group_buy.js``) shows the deal, its joinable groups and,
with ``?group=<public id>`` (the share link), that group: members (masked), the
countdown, the share link, and the open / join buttons that lead to the order's
payment. A deal customers may not see (draft, cancelled, ended) is the shop's 404;
a campaign's public id (how the campaign lists link) leads to its first deal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy import deals
from siyu.campaigns.group_buy.errors import DealNotFound
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.errors import CampaignNotFound
from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind
from siyu.web.storefront.pages import not_found, render

router = APIRouter(prefix="/shop")


@router.get("/campaigns/group-buy/{public_id}", response_class=HTMLResponse)
def group_buy(
    public_id: str,
    request: Request,
    session: SessionDep,
    group: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    try:
        deal, _campaign = deals.public_deal(session, public_id[:40])
    except DealNotFound:
        return _campaign_entry(request, session, public_id[:40])
    return render(
        request,
        page="group_buy",
        title_key="shop.group_buy.title",
        title=deal.title,
        params={"deal": deal.public_id, "group": group},
    )


def _campaign_entry(request: Request, session: Session, public_id: str) -> Response:
    """The campaign lists link by the campaign's id: go to its first deal."""
    try:
        campaign = registry.get_public(session, public_id, kind=CampaignKind.GROUP_BUY)
    except CampaignNotFound:
        return not_found(request)
    first = deals.deals_of(session, [campaign.id])[campaign.id]
    if not first:
        return not_found(request)
    return RedirectResponse(f"/shop/campaigns/group-buy/{first[0].public_id}", status_code=302)
