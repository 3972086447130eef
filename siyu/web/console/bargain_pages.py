"""Console pages for 砍价 bargain at /console/campaigns/bargain.

The list of bargain campaigns with live counters, a form for a new one, and a
campaign's monitor: counters and the latest bargains (price bar, helpers, status),
refreshed every 10 s with htmx, each with its cut audit (the plan recomputed from the
stored seed beside the recorded cuts). Needs ``campaigns.manage``; writes go through
``siyu.campaigns.bargain.service`` (rules and audit rows live there). Forms post and
redirect, so the pages work without JavaScript. Form helpers:
``siyu.web.console.campaign_forms``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.campaigns import common_deals
from siyu.campaigns.bargain import bargains, plan_audit, service
from siyu.campaigns.bargain.schemas import DealIn
from siyu.campaigns.registry import presenters
from siyu.campaigns.registry.errors import CampaignNotFound
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.campaign import Campaign, CampaignKind, LifecycleStage
from siyu.web.console.campaign_forms import (
    FormInvalid,
    ManagePage,
    active_templates,
    campaign_of,
    campaign_part,
    default_values,
    form_fen,
    form_int,
    form_refusal,
    form_values,
)
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()
BASE = "/console/campaigns/bargain"
ACTIVE = "campaigns"
FIELDS = (
    "name",
    "description",
    "lifecycle_stage",
    "starts_at",
    "ends_at",
    "sku_id",
    "floor_price_yuan",
    "expected_helpers",
    "daily_help_limit",
    "time_limit_minutes",
    "helper_coupon_template_id",
    "stock",
    "publish",
)


def _body(values: dict[str, str]) -> DealIn:
    deal = {
        "sku_id": form_int(values, "sku_id"),
        "floor_price": form_fen(values, "floor_price_yuan"),
        "expected_helpers": form_int(values, "expected_helpers"),
        "daily_help_limit": form_int(values, "daily_help_limit"),
        "time_limit_minutes": form_int(values, "time_limit_minutes"),
        "helper_coupon_template_id": form_int(values, "helper_coupon_template_id"),
        "stock": form_int(values, "stock"),
    }
    return DealIn.model_validate(
        {
            "campaign": campaign_part(values),
            **{key: value for key, value in deal.items() if value is not None},
            "publish": values.get("publish") == "on",
        }
    )


@router.get(BASE)
def bargain_list(page: ManagePage, session: SessionDep) -> HTMLResponse:
    pairs = common_deals.with_campaign_outs(session, service.list_deals(session))
    items = [{"campaign": out, "deal": deal} for out, deal in pairs]
    return page.render("bargain/list.html", active=ACTIVE, items=items)


def _new_page(
    page: ConsolePage,
    session: Session,
    values: dict[str, str],
    *,
    error: str | None = None,
    field: str = "",
) -> HTMLResponse:
    return page.render(
        "bargain/new.html",
        active=ACTIVE,
        status=422 if error else 200,
        form=values,
        stages=[stage.value for stage in LifecycleStage],
        templates=active_templates(session),
        error=error,
        error_field=field,
    )


@router.get(BASE + "/new")
def bargain_new(page: ManagePage, session: SessionDep) -> HTMLResponse:
    values = default_values(FIELDS, {"expected_helpers": "5", "stock": "100"})
    return _new_page(page, session, values)


@router.post(BASE + "/new")
async def bargain_create(request: Request, page: ManagePage, session: SessionDep) -> Response:
    values = await form_values(request, FIELDS)
    try:
        body = _body(values)
    except (FormInvalid, ValidationError) as invalid:
        message, field = form_refusal(page, "bargain", invalid, {"floor_price": "floor_price_yuan"})
        return _new_page(page, session, values, error=message, field=field)
    outcome = attempt(session, lambda: service.create(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        field = str(outcome.data.get("field", ""))
        field = {"floor_price": "floor_price_yuan"}.get(field, field)
        return _new_page(page, session, values, error=error_message(page.t, outcome), field=field)
    campaign, _deal = outcome
    return RedirectResponse(f"{BASE}/{campaign.public_id}?done=created", status_code=303)


def _monitor_values(session: Session, campaign: Campaign) -> dict[str, Any]:
    deal = service.deal_of(session, campaign.id)
    rows = bargains.list_for_campaign(session, campaign.id, limit=100)
    return {
        "campaign": presenters.campaigns_out(session, [campaign])[0],
        "deal": deal,
        "bargains": [
            {
                "row": row,
                "status": bargains.status_of(row),
                "progress": round(
                    100
                    * (row.start_price - row.current_price)
                    / (row.start_price - row.floor_price)
                ),
            }
            for row in rows
        ],
    }


@router.get(BASE + "/{public_id}")
def bargain_monitor(
    page: ManagePage, session: SessionDep, public_id: str, done: str = ""
) -> HTMLResponse:
    campaign = campaign_of(session, public_id, CampaignKind.BARGAIN)
    return page.render(
        "bargain/monitor.html",
        active=ACTIVE,
        flash=page.t("bargain.done.created") if done == "created" else None,
        **_monitor_values(session, campaign),
    )


@router.get(BASE + "/{public_id}/live")
def bargain_live(page: ManagePage, session: SessionDep, public_id: str) -> HTMLResponse:
    """Counters and bargains alone, for the htmx refresh."""
    campaign = campaign_of(session, public_id, CampaignKind.BARGAIN)
    return page.render("bargain/_live.html", active=ACTIVE, **_monitor_values(session, campaign))


@router.get(BASE + "/{public_id}/bargains/{bargain_id}")
def bargain_audit(
    page: ManagePage, session: SessionDep, public_id: str, bargain_id: str
) -> HTMLResponse:
    campaign = campaign_of(session, public_id, CampaignKind.BARGAIN)
    bargain = bargains.by_public_id(session, bargain_id)
    if bargain.campaign_id != campaign.id:
        raise CampaignNotFound(data={"campaign": public_id})
    return page.render(
        "bargain/audit.html",
        active=ACTIVE,
        campaign=campaign,
        bargain=bargain,
        status_now=bargains.status_of(bargain),
        audit=plan_audit.audit(session, bargain),
    )
