"""Console pages of revenue goals (目标拆解), under /console/analytics/goals.

The list, the create form (target, period, slice, base period or explicit factors),
and each goal's page: the decomposition table, the spread by month/week/day, the
pacing chart (cumulative actual against cumulative target) and the "behind" callout.
The numbers come from ``siyu.analytics.goals`` / ``goals_pacing``, as the API's do.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics import goals, goals_pacing
from siyu.analytics.deps import FormatQuery, TableQuery, brand_today
from siyu.analytics.goals_schemas import GoalCreate, GoalFactors, GoalReportOut, SliceDimension
from siyu.analytics.report import ExportFormat
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep, SettingsDep
from siyu.models.channel_code import ChannelCode
from siyu.models.location import Location, LocationKind
from siyu.staff.permissions import Permission
from siyu.staff.scope import ScopeKind, scope_for
from siyu.web.console.analytics_common import ACTIVE, AnalyticsPage, connect, render_or_export
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt
from siyu.web.money import yuan_to_fen

router = APIRouter()

BASE = "/console/analytics/goals"
ManagePage = Annotated[ConsolePage, Depends(page_requiring(goals.MANAGE_PERMISSION))]
GoalId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Field = Annotated[str, Form(max_length=100)]
FORM_FIELDS = (
    "name",
    "target_yuan",
    "period_start",
    "period_end",
    "slice",
    "mode",
    "base_start",
    "base_end",
    "new_customers",
    "new_aov_yuan",
    "new_frequency",
    "returning_customers",
    "returning_aov_yuan",
    "returning_frequency",
)


def _slice_options(page: ConsolePage, session: Session) -> list[tuple[str, str]]:
    """(value, label) of the slice picker; a store manager gets only their store."""
    scope = scope_for(page.principal)
    stores = session.execute(
        select(Location.id, Location.name).where(Location.kind == LocationKind.STORE)
    ).all()
    if scope.kind is ScopeKind.STORE:
        return [
            (f"store:{row.id}", page.t("analytics_goals.slice.store", name=row.name))
            for row in stores
            if row.id == scope.store_id
        ]
    codes = session.execute(select(ChannelCode.id, ChannelCode.name)).all()
    return [
        ("", page.t("analytics_goals.slice.brand")),
        *[
            (f"store:{row.id}", page.t("analytics_goals.slice.store", name=row.name))
            for row in stores
        ],
        *[
            (f"channel_code:{row.id}", page.t("analytics_goals.slice.channel_code", name=row.name))
            for row in codes
        ],
    ]


def _slice_label(
    page: ConsolePage, session: Session, dimension: str | None, value: str | None
) -> str:
    if dimension is None or value is None:
        return page.t("analytics_goals.slice.brand")
    row: Location | ChannelCode | None
    if dimension == SliceDimension.STORE:
        row = session.get(Location, int(value))
    else:
        row = session.get(ChannelCode, int(value))
    name = row.name if row is not None else value
    return page.t(f"analytics_goals.slice.{dimension}", name=name)


@router.get(BASE)
def goals_list(page: AnalyticsPage, session: SessionDep, done: str = "") -> HTMLResponse:
    items = goals.list_goals(session, page.principal)
    return page.render(
        "analytics/goals.html",
        active=ACTIVE,
        tab="goals",
        filters=None,
        goals=items,
        slice_label=lambda goal: _slice_label(
            page, session, goal.slice_dimension, goal.slice_value
        ),
        may_manage=page.may(goals.MANAGE_PERMISSION),
        flash=page.t("analytics_goals.deleted") if done == "deleted" else None,
    )


def _default_values(settings_today: date) -> dict[str, str]:
    first = (settings_today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return {
        "name": "",
        "target_yuan": "",
        "period_start": first.isoformat(),
        "period_end": last.isoformat(),
        "slice": "",
        "mode": "derive",
    }


def _form_page(
    page: ConsolePage,
    session: Session,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "analytics/goal_form.html",
        active=ACTIVE,
        status=status,
        tab="goals",
        filters=None,
        values=values,
        slices=_slice_options(page, session),
        error=error,
    )


@router.get(BASE + "/new")
def goal_new(page: ManagePage, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    page.require(Permission.ANALYTICS_READ)
    return _form_page(page, session, _default_values(brand_today(settings)))


def _optional_date(text: str) -> date | None:
    return date.fromisoformat(text) if text.strip() else None


def _body(values: dict[str, str]) -> GoalCreate:
    """The create request from the form; a malformed number or date raises ValueError."""
    target = yuan_to_fen(values["target_yuan"])
    if target is None:
        raise ValueError("target")
    goal_slice = values["slice"]
    dimension, value = goal_slice.split(":", 1) if goal_slice else (None, None)
    factors = None
    if values["mode"] == "explicit":
        new_aov = yuan_to_fen(values.get("new_aov_yuan", "") or "0")
        returning_aov = yuan_to_fen(values.get("returning_aov_yuan", "") or "0")
        if new_aov is None or returning_aov is None:
            raise ValueError("aov")
        factors = GoalFactors(
            new_customers=int(values.get("new_customers") or 0),
            new_aov=new_aov,
            new_frequency=float(values.get("new_frequency") or 0),
            returning_customers=int(values.get("returning_customers") or 0),
            returning_aov=returning_aov,
            returning_frequency=float(values.get("returning_frequency") or 0),
        )
    return GoalCreate(
        name=values["name"] or "—",
        target_amount=target,
        period_start=date.fromisoformat(values["period_start"]),
        period_end=date.fromisoformat(values["period_end"]),
        slice_dimension=SliceDimension(dimension) if dimension else None,
        slice_value=int(value) if value else None,
        base_start=_optional_date(values.get("base_start", "")),
        base_end=_optional_date(values.get("base_end", "")),
        factors=factors,
    )


@router.post(BASE)
def goal_create(
    page: ManagePage,
    session: SessionDep,
    settings: SettingsDep,
    name: Field = "",
    target_yuan: Field = "",
    period_start: Field = "",
    period_end: Field = "",
    slice: Field = "",  # noqa: A002 - the form field's name
    mode: Field = "derive",
    base_start: Field = "",
    base_end: Field = "",
    new_customers: Field = "",
    new_aov_yuan: Field = "",
    new_frequency: Field = "",
    returning_customers: Field = "",
    returning_aov_yuan: Field = "",
    returning_frequency: Field = "",
) -> Response:
    page.require(Permission.ANALYTICS_READ)
    values = {key: value for key, value in locals().items() if key in FORM_FIELDS}
    try:
        body = _body(values)
    except (ValueError, ValidationError):
        return _form_page(
            page, session, values, error=page.t("analytics_goals.invalid_input"), status=422
        )
    analytics = connect(page, session, settings)
    try:
        outcome = attempt(
            session, lambda: goals.create_goal(session, analytics, page.principal, body)
        )
    finally:
        analytics.close()
    if isinstance(outcome, SiyuError):
        return _form_page(
            page, session, values, error=error_message(page.t, outcome), status=outcome.status
        )
    return RedirectResponse(f"{BASE}/{outcome.id}", status_code=303)


def pacing_chart(page: ConsolePage, result: GoalReportOut) -> dict[str, Any]:
    """ECharts option: cumulative target (dashed) and cumulative actual, in fen."""
    days = result.pacing.days
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {
            "top": 0,
            "data": [
                page.t("analytics_goals.chart.target"),
                page.t("analytics_goals.chart.actual"),
            ],
        },
        "grid": {"left": 80, "right": 24, "top": 48, "bottom": 32, "containLabel": False},
        "xAxis": {"type": "category", "data": [row.day.isoformat() for row in days]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "yuan"}},
        "series": [
            {
                "name": page.t("analytics_goals.chart.target"),
                "type": "line",
                "showSymbol": False,
                "lineStyle": {"type": "dashed"},
                "data": [row.cumulative_target for row in days],
            },
            {
                "name": page.t("analytics_goals.chart.actual"),
                "type": "line",
                "showSymbol": False,
                "areaStyle": {"opacity": 0.15},
                "data": [row.cumulative_actual for row in days],
            },
        ],
    }


@router.get(BASE + "/{goal_id}")
def goal_detail(
    goal_id: GoalId,
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    goal = goals.get_goal(session, page.principal, goal_id)
    with connect(page, session, settings) as analytics:
        result = goals_pacing.report(analytics, goal)
    return render_or_export(
        page,
        "analytics/goal_detail.html",
        tab="goals",
        tables=goals_pacing.tables(result, page.t),
        export_format=export_format,
        table_name=table,
        filters=None,
        result=result,
        slice_label=_slice_label(page, session, goal.slice_dimension, goal.slice_value),
        chart=pacing_chart(page, result),
        may_manage=page.may(goals.MANAGE_PERMISSION),
    )


@router.post(BASE + "/{goal_id}/delete")
def goal_delete(goal_id: GoalId, page: ManagePage, session: SessionDep) -> Response:
    goals.delete_goal(session, page.principal, goal_id)
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)
