"""Operator coupon API under /api/v1: templates (+ live stats), grants, sending to a
customer, and the offline write-off.

Templates, grants and statistics need ``coupons.manage``; sending a coupon to a
customer and writing one off at a till need ``coupons.redeem`` (guides and store
staff hold it), limited to the caller's customers and store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from siyu.core.http import SessionDep, SettingsDep
from siyu.coupons import grants, presenters, stats, templates, writeoff
from siyu.coupons.errors import InvalidGrant
from siyu.coupons.schemas import (
    CouponOut,
    GrantOut,
    SegmentGrantIn,
    SendIn,
    TemplateIn,
    TemplateList,
    TemplateOut,
    TemplateStats,
    TemplateUpdate,
    WriteOffIn,
    WriteOffOut,
)
from siyu.models.coupon import TemplateStatus
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["coupons"])

Manager = Annotated[Principal, Depends(require(Permission.COUPONS_MANAGE))]
Redeemer = Annotated[Principal, Depends(require(Permission.COUPONS_REDEEM))]
TemplateId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/coupon-templates", response_model=TemplateList)
def list_templates(
    session: SessionDep,
    settings: SettingsDep,
    _principal: Manager,
    status: TemplateStatus | None = None,
) -> TemplateList:
    items = templates.list_templates(session, status=status)
    return TemplateList(items=presenters.templates_out(session, items, settings.tzinfo))


@router.post("/coupon-templates", response_model=TemplateOut, status_code=201)
def create_template(
    body: TemplateIn, session: SessionDep, settings: SettingsDep, principal: Manager
) -> TemplateOut:
    template = templates.create(session, principal, body)
    return presenters.template_out(session, template, settings.tzinfo)


@router.get("/coupon-templates/{template_id}", response_model=TemplateOut)
def get_template(
    template_id: TemplateId, session: SessionDep, settings: SettingsDep, _principal: Manager
) -> TemplateOut:
    return presenters.template_out(session, templates.get(session, template_id), settings.tzinfo)


@router.patch("/coupon-templates/{template_id}", response_model=TemplateOut)
def update_template(
    template_id: TemplateId,
    body: TemplateUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Manager,
) -> TemplateOut:
    template = templates.update(session, principal, template_id, body)
    return presenters.template_out(session, template, settings.tzinfo)


def _transition(action: str):  # type: ignore[no-untyped-def]
    def route(
        template_id: TemplateId, session: SessionDep, settings: SettingsDep, principal: Manager
    ) -> TemplateOut:
        template = templates.transition(session, principal, template_id, action)
        return presenters.template_out(session, template, settings.tzinfo)

    route.__name__ = f"{action}_template"
    return route


for _action in templates.TRANSITIONS:
    router.add_api_route(
        f"/coupon-templates/{{template_id}}/{_action}",
        _transition(_action),
        methods=["POST"],
        response_model=TemplateOut,
    )


@router.get("/coupon-templates/{template_id}/stats", response_model=TemplateStats)
def template_stats(
    template_id: TemplateId, session: SessionDep, _principal: Manager
) -> TemplateStats:
    template = templates.get(session, template_id)
    session.refresh(template)
    return stats.for_templates(session, [template])[template.id]


@router.post("/coupon-templates/{template_id}/grants", response_model=GrantOut)
async def grant_template(
    template_id: TemplateId, request: Request, session: SessionDep, principal: Manager
) -> GrantOut:
    """The body is a CSV (``text/csv``): one customer id per line, or a ``customer_id``
    column. Every row is reported: issued with its code, or skipped with an error code."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidGrant("The file must be UTF-8 text.") from error
    return await run_in_threadpool(grants.grant, session, principal, template_id, text)


@router.post("/coupon-templates/{template_id}/segment-grants", response_model=GrantOut)
def grant_template_to_segment(
    template_id: TemplateId, body: SegmentGrantIn, session: SessionDep, principal: Manager
) -> GrantOut:
    """Grant one coupon to each current member of a segment (人群包), reported per row
    like a CSV grant."""
    return grants.grant_segment(session, principal, template_id, body.segment_id)


@router.post("/coupons/send", response_model=CouponOut, status_code=201)
def send_coupon(body: SendIn, session: SessionDep, principal: Redeemer) -> CouponOut:
    coupon = grants.send(session, principal, body.template_id, body.customer_id)
    return CouponOut.model_validate(coupon)


@router.post("/coupons/write-off", response_model=WriteOffOut)
def write_off(
    body: WriteOffIn, session: SessionDep, settings: SettingsDep, principal: Redeemer
) -> WriteOffOut:
    coupon, template = writeoff.write_off(session, principal, body.code, body.store_id)
    return WriteOffOut(
        coupon=CouponOut.model_validate(coupon),
        template_name=template.name,
        kind=template.kind,
        rules=presenters.rule_lines(session, template, settings.tzinfo),
    )
