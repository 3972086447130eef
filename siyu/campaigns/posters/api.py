"""Poster images: /api/shop/v1/posters/… for the signed-in customer (their share code
in the QR) and /api/v1/posters/… for operators (``campaigns.manage``; no sharer).

``campaign/{public_id}.png`` — a campaign's poster; ``product/{id}.png`` — a product's,
optionally inside a campaign (``?campaign=<public id>``: its label, and the link
carries the campaign). Images are cached on disk by content hash; the hash is the
ETag, and ``X-Poster-Cache`` says whether this response was drawn or found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from siyu.campaigns.posters import service, share
from siyu.core.http import SessionDep, SettingsDep
from siyu.customers.sessions import CurrentCustomer
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

shop_router = APIRouter(prefix="/api/shop/v1/posters", tags=["storefront"])
router = APIRouter(prefix="/api/v1/posters", tags=["posters"])
Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]
CampaignQuery = Annotated[str | None, Query(alias="campaign", min_length=1, max_length=40)]


def _png(poster: service.Poster) -> Response:
    return Response(
        poster.png,
        media_type="image/png",
        headers={
            "Cache-Control": "private, max-age=300",
            "ETag": f'"{poster.digest}"',
            "X-Content-Type-Options": "nosniff",
            "X-Poster-Cache": "hit" if poster.from_cache else "miss",
        },
    )


def _base_url(request: Request) -> str:
    # The origin the caller reached siyu on (uvicorn --proxy-headers behind a proxy).
    return str(request.base_url)


def _customer_ref(request: Request, session: SessionDep, customer_id: int) -> str:
    return share.referrer_code(session, request.app.state.secret_key, customer_id)


@shop_router.get("/campaign/{public_id}.png", response_class=Response)
def shop_campaign_poster(
    public_id: str,
    request: Request,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    campaign = service.campaign_by_public_id(session, public_id, visible_only=True)
    ref = _customer_ref(request, session, customer.customer_id)
    return _png(service.campaign_poster(settings, campaign, base_url=_base_url(request), ref=ref))


@shop_router.get("/product/{product_id:int}.png", response_class=Response)
def shop_product_poster(
    product_id: int,
    request: Request,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    campaign_id: CampaignQuery = None,
) -> Response:
    campaign = (
        service.campaign_by_public_id(session, campaign_id, visible_only=True)
        if campaign_id
        else None
    )
    ref = _customer_ref(request, session, customer.customer_id)
    return _png(
        service.product_poster(
            session,
            settings,
            product_id,
            base_url=_base_url(request),
            ref=ref,
            campaign=campaign,
        )
    )


@router.get("/campaign/{public_id}.png", response_class=Response)
def campaign_poster(
    public_id: str,
    request: Request,
    _principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    campaign = service.campaign_by_public_id(session, public_id, visible_only=False)
    return _png(service.campaign_poster(settings, campaign, base_url=_base_url(request), ref=None))


@router.get("/product/{product_id:int}.png", response_class=Response)
def product_poster(
    product_id: int,
    request: Request,
    _principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
    campaign_id: CampaignQuery = None,
) -> Response:
    campaign = (
        service.campaign_by_public_id(session, campaign_id, visible_only=False)
        if campaign_id
        else None
    )
    return _png(
        service.product_poster(
            session, settings, product_id, base_url=_base_url(request), ref=None, campaign=campaign
        )
    )
