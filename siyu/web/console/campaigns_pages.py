"""Console: every campaign at /console/campaigns, whatever its mechanic.

One list with each campaign's phase (from its dates), touchpoints, lifecycle stage,
budget and the live counters its mechanic provides (refreshed every 15 s with htmx),
filters by kind and phase, publish and cancel buttons, and a "new" entry per
mechanic. Each mechanic's own pages live at /console/campaigns/<slug>. Needs
``campaigns.manage``; writes go through ``siyu.campaigns.registry.service``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from siyu.campaigns.registry import phases, presenters, service
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.campaign import Campaign, CampaignKind
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()
ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.CAMPAIGNS_MANAGE))]
BASE = "/console/campaigns"
ACTIVE = "campaigns"
DONE_KEYS = {"published", "cancelled"}


def _rows(session: Session, kind: str, phase: str) -> list[dict[str, Any]]:
    rows = service.list_campaigns(
        session,
        kind=CampaignKind(kind) if kind in CampaignKind.__members__.values() else None,
        phase=phases.Phase(phase) if phase in phases.Phase.__members__.values() else None,
    )
    return [
        {"campaign": out, "console_url": presenters.console_url(row)}
        for row, out in zip(rows, presenters.campaigns_out(session, rows), strict=True)
    ]


def _filters(kind: str, phase: str) -> dict[str, Any]:
    return {
        "kinds": [kind.value for kind in CampaignKind],
        "phases": [phase.value for phase in phases.Phase],
        "slugs": presenters.SLUGS,
        "kind": kind,
        "phase": phase,
    }


@router.get(BASE)
def campaigns_list(
    page: ManagePage, session: SessionDep, kind: str = "", phase: str = "", done: str = ""
) -> HTMLResponse:
    return page.render(
        "campaigns/list.html",
        active=ACTIVE,
        rows=_rows(session, kind, phase),
        flash=page.t(f"campaigns.done.{done}") if done in DONE_KEYS else None,
        **_filters(kind, phase),
    )


@router.get(BASE + "/table")
def campaigns_table(
    page: ManagePage, session: SessionDep, kind: str = "", phase: str = ""
) -> HTMLResponse:
    """The list's table alone, for the htmx refresh."""
    return page.render("campaigns/_table.html", active=ACTIVE, rows=_rows(session, kind, phase))


def _campaign(session: Session, campaign_id: int) -> Campaign:
    return service.get(session, campaign_id)


@router.post(BASE + "/{campaign_id:int}/publish")
def campaign_publish(page: ManagePage, session: SessionDep, campaign_id: int) -> Response:
    outcome = attempt(
        session, lambda: service.publish(session, page.principal, _campaign(session, campaign_id))
    )
    return _after(page, session, outcome, "published")


@router.post(BASE + "/{campaign_id:int}/cancel")
def campaign_cancel(
    page: ManagePage,
    session: SessionDep,
    campaign_id: int,
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    outcome = attempt(
        session,
        lambda: service.cancel(
            session,
            page.principal,
            _campaign(session, campaign_id),
            reason=reason.strip() or page.t("campaigns.cancel_default_reason"),
        ),
    )
    return _after(page, session, outcome, "cancelled")


def _after(page: ConsolePage, session: Session, outcome: object, done: str) -> Response:
    if isinstance(outcome, SiyuError):
        return page.render(
            "campaigns/list.html",
            active=ACTIVE,
            status=outcome.status,
            rows=_rows(session, "", ""),
            error=error_message(page.t, outcome),
            flash=None,
            **_filters("", ""),
        )
    return RedirectResponse(f"{BASE}?done={done}", status_code=303)
