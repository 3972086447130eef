"""Console pages for group buy (拼团) at /console/campaigns/group-buy.

The list of group-buy campaigns with their deals and live counters, a form for a new
campaign with its first deal, and a campaign's monitor: counters, deals (edit stock,
time limit, virtual completion …) and its groups with members, status and time left,
refreshed every 10 s with htmx. Needs ``campaigns.manage``; writes go through
``siyu.campaigns.group_buy.deals`` (rules and audit rows live there). Forms post and
redirect, so the pages work without JavaScript.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy import deals, presenters, reads
from siyu.campaigns.group_buy.schemas import DealIn, DealUpdate, GroupBuyIn
from siyu.campaigns.registry import service as registry
from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.core.settings import current as current_settings
from siyu.models.campaign import Campaign, CampaignKind, LifecycleStage
from siyu.models.group_buy import GroupBuyDeal
from siyu.web.console.campaign_forms import (
    FormInvalid,
    ManagePage,
    campaign_of,
    campaign_part,
    form_int,
    form_refusal,
    form_values,
)
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt
from siyu.web.money import yuan_to_fen

router = APIRouter()
BASE = "/console/campaigns/group-buy"
ACTIVE = "campaigns"
KIND = CampaignKind.GROUP_BUY
DONE_KEYS = {"created", "saved", "added"}
# Money is typed in yuan: a refusal of the fen field points at its yuan input.
_RENAMES = {"group_price": "group_price_yuan", "leader_price": "leader_price_yuan"}
CHECKBOXES = ("new_customers_only", "virtual_completion", "publish")
NEW_FIELDS = (
    "name",
    "description",
    "lifecycle_stage",
    "starts_at",
    "ends_at",
    "sku_id",
    "title",
    "group_price_yuan",
    "leader_price_yuan",
    "group_size",
    "time_limit_minutes",
    "stock_total",
    "per_customer_limit",
    *CHECKBOXES,
)


def _fen(values: dict[str, str], name: str) -> int | None:
    try:
        fen = yuan_to_fen(values.get(name, ""))
    except ValueError as error:
        raise FormInvalid(name) from error
    if fen is not None and fen <= 0:
        raise FormInvalid(name)
    return fen


def _deal_data(values: dict[str, str]) -> dict[str, Any]:
    return {
        "title": values.get("title", "").strip(),
        "group_price": _fen(values, "group_price_yuan"),
        "leader_price": _fen(values, "leader_price_yuan"),
        "group_size": form_int(values, "group_size"),
        "time_limit_minutes": form_int(values, "time_limit_minutes"),
        "stock_total": form_int(values, "stock_total"),
        "per_customer_limit": form_int(values, "per_customer_limit"),
        "new_customers_only": values.get("new_customers_only") == "on",
        "virtual_completion": values.get("virtual_completion") == "on",
    }


def _new_body(values: dict[str, str]) -> GroupBuyIn:
    deal = {"sku_id": form_int(values, "sku_id"), **_deal_data(values)}
    return GroupBuyIn.model_validate(
        {
            "campaign": campaign_part(values),
            "deals": [{key: value for key, value in deal.items() if value is not None}],
            "publish": values.get("publish") == "on",
        }
    )


@router.get(BASE)
def group_buy_list(page: ManagePage, session: SessionDep) -> HTMLResponse:
    campaigns = registry.list_campaigns(session, kind=KIND)
    return page.render(
        "group_buy/list.html", active=ACTIVE, items=presenters.group_buys(session, campaigns)
    )


def _new_page(
    page: ConsolePage, values: dict[str, str], *, error: str | None = None, field: str = ""
) -> HTMLResponse:
    return page.render(
        "group_buy/new.html",
        active=ACTIVE,
        status=422 if error else 200,
        form=values,
        stages=[stage.value for stage in LifecycleStage],
        error=error,
        error_field=field,
    )


@router.get(BASE + "/new")
def group_buy_new(page: ManagePage) -> HTMLResponse:
    now = clock.now().astimezone(current_settings().tzinfo)
    values = dict.fromkeys(NEW_FIELDS, "")
    values.update(
        {
            "lifecycle_stage": LifecycleStage.ACQUIRE.value,
            "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": now.replace(hour=23, minute=59).strftime("%Y-%m-%dT%H:%M"),
            "group_size": "3",
            "time_limit_minutes": "1440",
            "publish": "on",
        }
    )
    return _new_page(page, values)


@router.post(BASE + "/new")
async def group_buy_create(request: Request, page: ManagePage, session: SessionDep) -> Response:
    values = await form_values(request, NEW_FIELDS)
    try:
        body = _new_body(values)
    except (FormInvalid, ValidationError) as invalid:
        message, field = form_refusal(page, "group_buy", invalid, _RENAMES)
        return _new_page(page, values, error=message, field=field)
    outcome = attempt(session, lambda: deals.create(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        field = str(outcome.data.get("field", ""))
        return _new_page(page, values, error=error_message(page.t, outcome), field=field)
    campaign, _created = outcome
    return RedirectResponse(f"{BASE}/{campaign.public_id}?done=created", status_code=303)


def _monitor_values(session: Session, campaign: Campaign) -> dict[str, Any]:
    groups = reads.groups_of(session, campaign.id, limit=200)
    return {
        "item": presenters.group_buys(session, [campaign])[0],
        "groups": reads.console_groups(session, groups),
        "now": clock.now(),
    }


@router.get(BASE + "/{public_id}")
def group_buy_monitor(
    page: ManagePage, session: SessionDep, public_id: str, done: str = ""
) -> HTMLResponse:
    campaign = campaign_of(session, public_id, KIND)
    return page.render(
        "group_buy/monitor.html",
        active=ACTIVE,
        flash=page.t(f"group_buy.done.{done}") if done in DONE_KEYS else None,
        **_monitor_values(session, campaign),
    )


@router.get(BASE + "/{public_id}/live")
def group_buy_live(page: ManagePage, session: SessionDep, public_id: str) -> HTMLResponse:
    """Counters and groups alone, for the htmx refresh."""
    campaign = campaign_of(session, public_id, KIND)
    return page.render("group_buy/_live.html", active=ACTIVE, **_monitor_values(session, campaign))


@router.post(BASE + "/{public_id}/deals")
async def group_buy_deal_add(
    request: Request, page: ManagePage, session: SessionDep, public_id: str
) -> Response:
    campaign = campaign_of(session, public_id, KIND)
    values = await form_values(request, NEW_FIELDS)
    try:
        data = {"sku_id": form_int(values, "sku_id"), **_deal_data(values)}
        body = DealIn.model_validate(
            {key: value for key, value in data.items() if value is not None}
        )
    except (FormInvalid, ValidationError) as invalid:
        message, _field = form_refusal(page, "group_buy", invalid, _RENAMES)
        return _monitor_error(page, session, campaign, message)
    outcome = attempt(session, lambda: deals.add_deal(session, page.principal, campaign, body))
    if isinstance(outcome, SiyuError):
        return _monitor_error(page, session, campaign, error_message(page.t, outcome))
    return RedirectResponse(f"{BASE}/{public_id}?done=added", status_code=303)


@router.post(BASE + "/{public_id}/deals/{deal_id:int}")
async def group_buy_deal_save(
    request: Request, page: ManagePage, session: SessionDep, public_id: str, deal_id: int
) -> Response:
    campaign = campaign_of(session, public_id, KIND)
    deal = session.get(GroupBuyDeal, deal_id)
    if deal is None or deal.campaign_id != campaign.id:
        raise deals.DealNotFound(data={"deal_id": deal_id})
    values = await form_values(request, NEW_FIELDS)
    try:
        data = _deal_data(values)
        body = DealUpdate.model_validate(
            {key: value for key, value in data.items() if value not in (None, "")}
        )
    except (FormInvalid, ValidationError) as invalid:
        message, _field = form_refusal(page, "group_buy", invalid, _RENAMES)
        return _monitor_error(page, session, campaign, message)
    outcome = attempt(session, lambda: deals.update_deal(session, page.principal, deal, body))
    if isinstance(outcome, SiyuError):
        return _monitor_error(page, session, campaign, error_message(page.t, outcome))
    return RedirectResponse(f"{BASE}/{public_id}?done=saved", status_code=303)


def _monitor_error(
    page: ConsolePage, session: Session, campaign: Campaign, message: str
) -> HTMLResponse:
    session.refresh(campaign)
    return page.render(
        "group_buy/monitor.html",
        active=ACTIVE,
        status=422,
        error=message,
        flash=None,
        **_monitor_values(session, campaign),
    )
