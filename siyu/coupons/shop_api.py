"""Storefront coupon routes under /api/shop/v1: the coupon centre, share links, claims
and the buyer's own coupons.

Reading the centre or a link works signed out (everything shows as claimable);
claiming and "my coupons" need the customer's session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from siyu.core import clock
from siyu.core.errors import ValidationFailed
from siyu.core.http import SessionDep, SettingsDep
from siyu.coupons import centre, issuing, presenters, templates
from siyu.coupons.schemas import (
    CentreOut,
    ClaimIn,
    ClaimOut,
    MineOut,
    ShopTemplateOut,
)
from siyu.customers.sessions import CurrentCustomer, resolve_token, token_from_headers
from siyu.models.coupon import CouponSource, CouponTemplate

router = APIRouter(prefix="/api/shop/v1", tags=["storefront"])
PublicId = Annotated[str, Path(min_length=1, max_length=40)]


def _optional_customer(request: Request, session: SessionDep) -> int | None:
    customer = resolve_token(session, token_from_headers(request))
    return customer.customer_id if customer else None


def _template_out(
    session: SessionDep,
    template: CouponTemplate,
    customer_id: int | None,
    settings: SettingsDep,
    source: CouponSource,
) -> ShopTemplateOut:
    state, claimed = centre.state_for(session, template, customer_id, clock.now(), source=source)
    return ShopTemplateOut(
        public_id=template.public_id,
        name=template.name,
        description=template.description,
        kind=template.kind,
        threshold_amount=template.threshold_amount,
        discount_amount=template.discount_amount,
        discount_rate=template.discount_rate,
        max_discount_amount=template.max_discount_amount,
        valid_until=template.valid_until,
        valid_days=template.valid_days,
        rules=presenters.rule_lines(session, template, settings.tzinfo),
        state=state,
        claimed=claimed,
    )


@router.get("/coupons/centre", response_model=CentreOut)
def coupon_centre(request: Request, session: SessionDep, settings: SettingsDep) -> CentreOut:
    customer_id = _optional_customer(request, session)
    return CentreOut(
        items=[
            _template_out(session, template, customer_id, settings, CouponSource.CLAIM)
            for template in centre.centre_templates(session, clock.now())
        ]
    )


@router.post("/coupons/claim", response_model=ClaimOut, status_code=201)
def claim_coupon(
    body: ClaimIn, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep
) -> ClaimOut:
    coupon = issuing.claim(session, body.template_id, customer.customer_id, via_link=False)
    template = templates.get(session, coupon.template_id)
    return ClaimOut(coupon=presenters.shop_coupon_out(session, coupon, template, settings.tzinfo))


@router.get("/coupons/mine", response_model=MineOut)
def my_coupons(
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> MineOut:
    if status is not None and status not in centre.STATUSES:
        raise ValidationFailed("Unknown coupon status.", data={"field": "status"})
    return MineOut(
        items=[
            presenters.shop_coupon_out(session, coupon, template, settings.tzinfo)
            for coupon, template in centre.mine(session, customer.customer_id, status)
        ]
    )


@router.get("/coupon-links/{public_id}", response_model=ShopTemplateOut)
def link_info(
    public_id: PublicId, request: Request, session: SessionDep, settings: SettingsDep
) -> ShopTemplateOut:
    template = templates.shared(session, public_id)
    customer_id = _optional_customer(request, session)
    return _template_out(session, template, customer_id, settings, CouponSource.LINK)


@router.post("/coupon-links/{public_id}", response_model=ClaimOut, status_code=201)
def claim_by_link(
    public_id: PublicId, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep
) -> ClaimOut:
    coupon = issuing.claim(session, public_id, customer.customer_id, via_link=True)
    template = templates.get(session, coupon.template_id)
    return ClaimOut(coupon=presenters.shop_coupon_out(session, coupon, template, settings.tzinfo))
