"""Console pages for the RFM matrix and the lifecycle stages (人群洞察).

``/console/audiences/rfm``: the 8 groups (count, share, spend, mean recency), an R×F
heatmap (ECharts) and the scoring form; ``/console/audiences/lifecycle``: both models'
current distribution, the distribution over time (stacked areas) and recent
transitions, with the windows form. The forms post the settings through
``siyu.audiences.config`` (validated and audited) and redirect; they apply at the next
traits computation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from siyu.audiences import config, insights, lifecycle, rfm
from siyu.audiences.config_schemas import AudienceSettings
from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.AUDIENCES_MANAGE))]
BASE = "/console/audiences"
ACTIVE = "audiences"
Field = Annotated[str, Form(max_length=500)]


def _numbers(text: str) -> list[int]:
    """ "30, 90,180 365" → [30, 90, 180, 365]; a non-number raises ValueError."""
    return [int(part) for part in text.replace(",", " ").replace("，", " ").split()]


def _form_error(page: ConsolePage, outcome: SiyuError) -> str:
    message = error_message(page.t, outcome)
    errors = outcome.data.get("errors") or []
    details = "; ".join(f"{'.'.join(error['loc'])}: {error['msg']}" for error in errors)
    return f"{message} {details}".strip()


class _SettingsPage(Protocol):
    def __call__(
        self,
        page: ConsolePage,
        session: Session,
        *,
        values: dict[str, str] | None = ...,
        error: str | None = ...,
        status: int = ...,
    ) -> HTMLResponse: ...


def _save_settings(
    page: ConsolePage,
    session: Session,
    section: str,
    values: dict[str, str],
    sections: Callable[[], dict[str, Any]],
    render: _SettingsPage,
) -> Response:
    """Replace ``sections()`` in the saved settings and redirect to ``section``'s page;
    a number that does not parse or settings ``config.save`` refuses re-render the
    form with the posted ``values`` and the error."""
    current = config.load(session).model_dump(mode="json")
    try:
        current.update(sections())
    except ValueError:
        return render(
            page, session, values=values, error=page.t(f"{section}.invalid_number"), status=422
        )
    outcome = attempt(session, lambda: config.save(session, current, page.principal))
    if isinstance(outcome, SiyuError):
        return render(
            page, session, values=values, error=_form_error(page, outcome), status=outcome.status
        )
    return RedirectResponse(f"{BASE}/{section}?done=saved", status_code=303)


# RFM ------------------------------------------------------------------------------


def _rfm_page(
    page: ConsolePage,
    session: Session,
    *,
    values: dict[str, Any] | None = None,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    settings = config.load(session)
    matrix = insights.rfm_matrix(session, now=clock.now())
    heatmap = {
        "xLabels": [f"F{score}" for score in range(1, 6)],
        "yLabels": [f"R{score}" for score in range(1, 6)],
        "cells": [[cell.frequency - 1, cell.recency - 1, cell.customers] for cell in matrix.grid],
        "max": max([cell.customers for cell in matrix.grid] or [0]),
        "seriesName": page.t("rfm.heatmap.series"),
    }
    thresholds = settings.rfm.thresholds
    form_values = values or {
        "method": settings.rfm.method.value,
        "split": str(settings.rfm.split),
        "recency_days": ", ".join(map(str, thresholds.recency_days)),
        "frequency_orders": ", ".join(map(str, thresholds.frequency_orders)),
        "monetary_yuan": ", ".join(str(value // 100) for value in thresholds.monetary_fen),
    }
    return page.render(
        "audiences/rfm.html",
        active=ACTIVE,
        status=status,
        matrix=matrix,
        heatmap=heatmap,
        values=form_values,
        groups=rfm.GROUPS,
        tab="rfm",
        flash=flash,
        error=error,
    )


@router.get(BASE + "/rfm")
def rfm_page(page: ManagePage, session: SessionDep, done: str = "") -> HTMLResponse:
    flash = page.t("rfm.saved") if done == "saved" else None
    return _rfm_page(page, session, flash=flash)


@router.post(BASE + "/rfm")
def rfm_save(
    page: ManagePage,
    session: SessionDep,
    method: Field,
    split: Field,
    recency_days: Field,
    frequency_orders: Field,
    monetary_yuan: Field,
) -> Response:
    values = {
        "method": method,
        "split": split,
        "recency_days": recency_days,
        "frequency_orders": frequency_orders,
        "monetary_yuan": monetary_yuan,
    }

    def sections() -> dict[str, Any]:
        return {
            "rfm": {
                "method": method,
                "split": int(split),
                "thresholds": {
                    "recency_days": _numbers(recency_days),
                    "frequency_orders": _numbers(frequency_orders),
                    "monetary_fen": [value * 100 for value in _numbers(monetary_yuan)],
                },
            }
        }

    return _save_settings(page, session, "rfm", values, sections, _rfm_page)


# Lifecycle ------------------------------------------------------------------------


def _lifecycle_values(settings: AudienceSettings) -> dict[str, str]:
    aipl, ops = settings.aipl, settings.operational
    return {
        "new_days": str(ops.new_days),
        "active_days": str(ops.active_days),
        "churn_days": str(ops.churn_days),
        "interest_window_days": str(aipl.interest_window_days),
        "engagement_events": ", ".join(aipl.engagement_events),
        "loyal_min_orders": str(aipl.loyal_min_orders),
        "loyal_window_days": str(aipl.loyal_window_days),
        "loyal_min_tier_rank": ""
        if aipl.loyal_min_tier_rank is None
        else str(aipl.loyal_min_tier_rank),
    }


def _history_chart(page: ConsolePage, overview: Any, model: str) -> dict[str, Any]:
    days = sorted({row.day for row in overview.history if row.model == model})
    stages = lifecycle.STAGES[model]
    counts = {(row.day, row.stage): row.customers for row in overview.history if row.model == model}
    return {
        "days": [day.isoformat() for day in days],
        "series": [
            {
                "name": page.t(f"lifecycle.stage.{stage}"),
                "data": [counts.get((day, stage), 0) for day in days],
            }
            for stage in stages
        ],
        "emptyText": page.t("lifecycle.chart.empty"),
    }


def _lifecycle_page(
    page: ConsolePage,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    overview = insights.lifecycle_overview(session, now=clock.now())
    return page.render(
        "audiences/lifecycle.html",
        active=ACTIVE,
        status=status,
        overview=overview,
        charts={model: _history_chart(page, overview, model) for model in lifecycle.STAGES},
        values=values or _lifecycle_values(config.load(session)),
        tab="lifecycle",
        flash=flash,
        error=error,
    )


@router.get(BASE + "/lifecycle")
def lifecycle_page(page: ManagePage, session: SessionDep, done: str = "") -> HTMLResponse:
    flash = page.t("lifecycle.saved") if done == "saved" else None
    return _lifecycle_page(page, session, flash=flash)


@router.post(BASE + "/lifecycle")
def lifecycle_save(
    page: ManagePage,
    session: SessionDep,
    new_days: Field,
    active_days: Field,
    churn_days: Field,
    interest_window_days: Field,
    engagement_events: Field,
    loyal_min_orders: Field,
    loyal_window_days: Field,
    loyal_min_tier_rank: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    values = {
        "new_days": new_days,
        "active_days": active_days,
        "churn_days": churn_days,
        "interest_window_days": interest_window_days,
        "engagement_events": engagement_events,
        "loyal_min_orders": loyal_min_orders,
        "loyal_window_days": loyal_window_days,
        "loyal_min_tier_rank": loyal_min_tier_rank,
    }

    def sections() -> dict[str, Any]:
        return {
            "operational": {
                "new_days": int(new_days),
                "active_days": int(active_days),
                "churn_days": int(churn_days),
            },
            "aipl": {
                "interest_window_days": int(interest_window_days),
                "engagement_events": [
                    name
                    for name in engagement_events.replace("，", ",").replace(" ", ",").split(",")
                    if name
                ],
                "loyal_min_orders": int(loyal_min_orders),
                "loyal_window_days": int(loyal_window_days),
                "loyal_min_tier_rank": int(loyal_min_tier_rank)
                if loyal_min_tier_rank.strip()
                else None,
            },
        }

    return _save_settings(page, session, "lifecycle", values, sections, _lifecycle_page)
