"""Console pages for 助力 assist / 0-yuan claim at /console/campaigns/assist.

The list of assist campaigns with live counters, a form for a new one (coupon or gift
reward), and a campaign's monitor: counters and the latest assists with progress,
refreshed every 10 s with htmx. Needs ``campaigns.manage``; writes go through
``siyu.campaigns.assist.service``. Form helpers: ``siyu.web.console.campaign_forms``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.campaigns import common_deals
from siyu.campaigns.assist import assists, service
from siyu.campaigns.assist.presenters import reward_of
from siyu.campaigns.assist.schemas import DealIn
from siyu.campaigns.registry import presenters
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.bargain import AssistRewardKind
from siyu.models.campaign import Campaign, CampaignKind, LifecycleStage
from siyu.web.console.campaign_forms import (
    FormInvalid,
    ManagePage,
    active_templates,
    campaign_of,
    campaign_part,
    default_values,
    form_int,
    form_refusal,
    form_values,
)
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()
BASE = "/console/campaigns/assist"
ACTIVE = "campaigns"
FIELDS = (
    "name",
    "description",
    "lifecycle_stage",
    "starts_at",
    "ends_at",
    "required_assists",
    "reward_kind",
    "reward_coupon_template_id",
    "gift_sku_id",
    "reward_stock",
    "daily_help_limit",
    "time_limit_minutes",
    "helper_coupon_template_id",
    "publish",
)


def _body(values: dict[str, str]) -> DealIn:
    kind = values.get("reward_kind") or AssistRewardKind.GIFT.value
    deal = {
        "required_assists": form_int(values, "required_assists"),
        "reward_kind": kind,
        # Only the chosen reward's field counts; the other may hold a stale value.
        "reward_coupon_template_id": (
            form_int(values, "reward_coupon_template_id")
            if kind == AssistRewardKind.COUPON
            else None
        ),
        "gift_sku_id": form_int(values, "gift_sku_id") if kind == AssistRewardKind.GIFT else None,
        "reward_stock": form_int(values, "reward_stock"),
        "daily_help_limit": form_int(values, "daily_help_limit"),
        "time_limit_minutes": form_int(values, "time_limit_minutes"),
        "helper_coupon_template_id": form_int(values, "helper_coupon_template_id"),
    }
    return DealIn.model_validate(
        {
            "campaign": campaign_part(values),
            **{key: value for key, value in deal.items() if value is not None},
            "publish": values.get("publish") == "on",
        }
    )


@router.get(BASE)
def assist_list(page: ManagePage, session: SessionDep) -> HTMLResponse:
    pairs = common_deals.with_campaign_outs(session, service.list_deals(session))
    items = [
        {"campaign": out, "deal": deal, "reward": reward_of(session, deal)[0]}
        for out, deal in pairs
    ]
    return page.render("assist/list.html", active=ACTIVE, items=items)


def _new_page(
    page: ConsolePage,
    session: Session,
    values: dict[str, str],
    *,
    error: str | None = None,
    field: str = "",
) -> HTMLResponse:
    return page.render(
        "assist/new.html",
        active=ACTIVE,
        status=422 if error else 200,
        form=values,
        stages=[stage.value for stage in LifecycleStage],
        reward_kinds=[kind.value for kind in AssistRewardKind],
        templates=active_templates(session),
        error=error,
        error_field=field,
    )


@router.get(BASE + "/new")
def assist_new(page: ManagePage, session: SessionDep) -> HTMLResponse:
    values = default_values(
        FIELDS,
        {
            "required_assists": "3",
            "reward_kind": AssistRewardKind.GIFT.value,
            "reward_stock": "100",
            "lifecycle_stage": LifecycleStage.REFER.value,
        },
    )
    return _new_page(page, session, values)


@router.post(BASE + "/new")
async def assist_create(request: Request, page: ManagePage, session: SessionDep) -> Response:
    values = await form_values(request, FIELDS)
    try:
        body = _body(values)
    except (FormInvalid, ValidationError) as invalid:
        message, field = form_refusal(page, "assist", invalid, {})
        return _new_page(page, session, values, error=message, field=field)
    outcome = attempt(session, lambda: service.create(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        field = str(outcome.data.get("field", ""))
        return _new_page(page, session, values, error=error_message(page.t, outcome), field=field)
    campaign, _deal = outcome
    return RedirectResponse(f"{BASE}/{campaign.public_id}?done=created", status_code=303)


def _monitor_values(session: Session, campaign: Campaign) -> dict[str, Any]:
    deal = service.deal_of(session, campaign.id)
    rows = assists.list_for_campaign(session, campaign.id, limit=100)
    return {
        "campaign": presenters.campaigns_out(session, [campaign])[0],
        "deal": deal,
        "reward": reward_of(session, deal)[0],
        "assists": [{"row": row, "status": assists.status_of(row)} for row in rows],
    }


@router.get(BASE + "/{public_id}")
def assist_monitor(
    page: ManagePage, session: SessionDep, public_id: str, done: str = ""
) -> HTMLResponse:
    campaign = campaign_of(session, public_id, CampaignKind.ASSIST)
    return page.render(
        "assist/monitor.html",
        active=ACTIVE,
        flash=page.t("assist.done.created") if done == "created" else None,
        **_monitor_values(session, campaign),
    )


@router.get(BASE + "/{public_id}/live")
def assist_live(page: ManagePage, session: SessionDep, public_id: str) -> HTMLResponse:
    campaign = campaign_of(session, public_id, CampaignKind.ASSIST)
    return page.render("assist/_live.html", active=ACTIVE, **_monitor_values(session, campaign))
