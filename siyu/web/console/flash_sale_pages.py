"""Console pages for the flash sale (秒杀) at /console/campaigns/flash-sale.

The list with live counters; "new" (the campaign's fields, one session and up to
``ITEM_ROWS`` items — rows without a SKU are skipped; more sessions through the
API); and the monitor: counters and each session's items with stock left, reserved
and sold (htmx refresh every 3 s), the stock audit per session, and publishing.
Needs ``campaigns.manage``; every write goes through ``siyu.campaigns.flash_sale``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.campaigns.flash_sale import audit, presenters, service, tasks
from siyu.campaigns.flash_sale.schemas import FlashSaleIn, ItemIn, SessionIn, SessionUpdate
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.core.settings import current as current_settings
from siyu.models.campaign import LifecycleStage
from siyu.web.console.campaign_forms import (
    ManagePage,
    campaign_of,
    optional_fen,
    optional_moment,
    optional_number,
)
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()
BASE = "/console/campaigns/flash-sale"
ACTIVE = "campaigns"
ITEM_ROWS = 5
DONE_KEYS = {"created", "published", "saved"}
Text = Annotated[str, Form(max_length=2000)]
Texts = Annotated[list[str], Form()]


@router.get(BASE)
def flash_sale_list(page: ManagePage, session: SessionDep) -> HTMLResponse:
    campaigns = registry.list_campaigns(session, kind=service.KIND, limit=100)
    return page.render(
        "flash_sale/list.html", active=ACTIVE, rows=presenters.flash_sales_out(session, campaigns)
    )


def _new_page(
    page: ConsolePage, values: dict[str, Any], error: str | None = None, status: int = 200
) -> HTMLResponse:
    return page.render(
        "flash_sale/new.html",
        active=ACTIVE,
        status=status,
        values=values,
        error=error,
        stages=[stage.value for stage in LifecycleStage],
        rows=ITEM_ROWS,
    )


@router.get(BASE + "/new")
def flash_sale_new(page: ManagePage) -> HTMLResponse:
    return _new_page(page, {"customer_rate_limit": "10", "ip_rate_limit": "300"})


def _items(
    skus: list[str], prices: list[str], stocks: list[str], limits: list[str]
) -> list[ItemIn]:
    def cell(column: list[str], index: int) -> str:
        return column[index] if index < len(column) else ""

    items = []
    for index, sku in enumerate(skus):
        if not sku.strip():
            continue
        items.append(
            ItemIn(
                sku_id=optional_number(sku) or 0,
                campaign_price=optional_fen(cell(prices, index)) or 0,
                starting_stock=optional_number(cell(stocks, index)) or 0,
                per_customer_limit=optional_number(cell(limits, index)) or 1,
            )
        )
    return items


@router.post(BASE + "/new")
def flash_sale_create(
    page: ManagePage,
    session: SessionDep,
    request: Request,
    name: Text = "",
    description: Text = "",
    lifecycle_stage: Text = "convert",
    warmup_at: Text = "",
    starts_at: Text = "",
    ends_at: Text = "",
    publish: Text = "",
    customer_rate_limit: Text = "10",
    ip_rate_limit: Text = "300",
    item_sku: Texts = [],  # noqa: B006  (FastAPI copies form defaults)
    item_price: Texts = [],  # noqa: B006
    item_stock: Texts = [],  # noqa: B006
    item_limit: Texts = [],  # noqa: B006
) -> Response:
    values: dict[str, Any] = {
        key: value for key, value in locals().items() if key not in ("page", "session", "request")
    }
    starts, ends = optional_moment(starts_at), optional_moment(ends_at)
    try:
        body = FlashSaleIn(
            campaign=CampaignFields(
                name=name.strip(),
                description=description.strip(),
                lifecycle_stage=LifecycleStage(lifecycle_stage),
                warmup_at=optional_moment(warmup_at),
                starts_at=starts,
                ends_at=ends,
            ),
            sessions=[
                SessionIn(
                    name=name.strip() or "场次",
                    starts_at=starts,
                    ends_at=ends,
                    customer_rate_limit=optional_number(customer_rate_limit) or 10,
                    ip_rate_limit=optional_number(ip_rate_limit) or 300,
                    items=_items(item_sku, item_price, item_stock, item_limit),
                )
            ],
            publish=bool(publish),
        )
    except (ValidationError, ValueError) as invalid:
        return _new_page(
            page, values, page.t("flash_sale.invalid_form", detail=str(invalid)[:300]), 422
        )
    redis_url = current_settings().redis_url

    outcome = attempt(
        session, lambda: service.create(session, page.principal, body, redis_url=redis_url)
    )
    if isinstance(outcome, SiyuError):
        return _new_page(page, values, error_message(page.t, outcome), outcome.status)
    return RedirectResponse(f"{BASE}/{outcome.public_id}?done=created", status_code=303)


def _monitor(
    page: ConsolePage,
    session: Session,
    request: Request,
    public_id: str,
    *,
    template: str = "flash_sale/detail.html",
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    campaign = campaign_of(session, public_id, service.KIND)
    sale = presenters.flash_sales_out(session, [campaign])[0]
    stock = tasks.redis_stock_for(getattr(request.app.state, "redis", None))
    audits = {
        row.public_id: audit.check(session, row, stock)
        for row in service.sessions_of(session, [campaign.id])
    }
    tz = current_settings().tzinfo
    # datetime-local values for the edit forms of upcoming sessions.
    moments = {
        row.public_id: {
            "starts_at": row.starts_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": row.ends_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        }
        for row in sale.sessions
    }
    return page.render(
        template,
        active=ACTIVE,
        status=status,
        sale=sale,
        audits=audits,
        moments=moments,
        flash=flash,
        error=error,
    )


@router.get(BASE + "/{public_id}")
def flash_sale_detail(
    public_id: str, page: ManagePage, session: SessionDep, request: Request, done: str = ""
) -> HTMLResponse:
    flash = page.t(f"flash_sale.done.{done}") if done in DONE_KEYS else None
    return _monitor(page, session, request, public_id, flash=flash)


@router.get(BASE + "/{public_id}/live")
def flash_sale_live(
    public_id: str, page: ManagePage, session: SessionDep, request: Request
) -> HTMLResponse:
    """Counters and the session tables alone, for the htmx refresh."""
    return _monitor(page, session, request, public_id, template="flash_sale/_live.html")


@router.post(BASE + "/{public_id}/publish")
def flash_sale_publish(
    public_id: str, page: ManagePage, session: SessionDep, request: Request
) -> Response:
    campaign = campaign_of(session, public_id, service.KIND)
    redis_url = current_settings().redis_url

    outcome = attempt(
        session, lambda: service.publish(session, page.principal, campaign, redis_url=redis_url)
    )
    if isinstance(outcome, SiyuError):
        message = error_message(page.t, outcome)
        return _monitor(page, session, request, public_id, error=message, status=outcome.status)
    return RedirectResponse(f"{BASE}/{public_id}?done=published", status_code=303)


@router.post(BASE + "/{public_id}/sessions/{session_id}")
def flash_sale_session_save(
    public_id: str,
    session_id: str,
    page: ManagePage,
    session: SessionDep,
    request: Request,
    name: Text = "",
    starts_at: Text = "",
    ends_at: Text = "",
    customer_rate_limit: Text = "",
    ip_rate_limit: Text = "",
    item_sku: Texts = [],  # noqa: B006  (FastAPI copies form defaults)
    item_price: Texts = [],  # noqa: B006
    item_stock: Texts = [],  # noqa: B006
    item_limit: Texts = [],  # noqa: B006
) -> Response:
    """Change an upcoming session: its window, limits and items (the service refuses
    once it has started)."""
    campaign_of(session, public_id, service.KIND)
    row = service.get_session(session, session_id)

    def moment(text: str, was: datetime) -> datetime:
        # The form shows minutes: an untouched field keeps the exact time it had.
        shown = was.astimezone(current_settings().tzinfo).strftime("%Y-%m-%dT%H:%M")
        return was if text.strip() == shown else (optional_moment(text) or was)

    try:
        body = SessionUpdate(
            name=name.strip() or row.name,
            starts_at=moment(starts_at, row.starts_at),
            ends_at=moment(ends_at, row.ends_at),
            customer_rate_limit=optional_number(customer_rate_limit) or row.customer_rate_limit,
            ip_rate_limit=optional_number(ip_rate_limit) or row.ip_rate_limit,
            items=_items(item_sku, item_price, item_stock, item_limit) or None,
        )
    except (ValidationError, ValueError) as invalid:
        message = page.t("flash_sale.invalid_form", detail=str(invalid)[:300])
        return _monitor(page, session, request, public_id, error=message, status=422)
    outcome = attempt(session, lambda: service.update_session(session, page.principal, row, body))
    if isinstance(outcome, SiyuError):
        message = error_message(page.t, outcome)
        return _monitor(page, session, request, public_id, error=message, status=outcome.status)
    return RedirectResponse(f"{BASE}/{public_id}?done=saved", status_code=303)
