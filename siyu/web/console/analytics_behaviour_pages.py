"""Analytics console pages (behaviour): traffic map, funnels, cohorts.

``/console/analytics/traffic``: the Sankey of customers acquired in the period from
source group to primary private-domain touchpoint to first and repeat order, with the
step conversions and per-source / per-touchpoint tables. ``/console/analytics/funnels``:
a step editor (a GET form, so every funnel has a shareable URL and export links) with
the default shop funnel, its chart, per-slice table, and the lifecycle funnel.
``/console/analytics/cohorts``: by first-order month or by channel, one measure as a
heatmap, the LTV curves, and a table per measure. The numbers come from the services
the API uses (siyu.analytics.traffic / funnels / cohorts); the options are built here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from siyu.analytics import cohorts, funnels, traffic
from siyu.analytics.deps import FormatQuery, TableQuery, brand_today
from siyu.analytics.errors import InvalidAnalyticsRequest, InvalidSlice
from siyu.analytics.period import parse_period
from siyu.analytics.report import ExportFormat, ReportTable
from siyu.core.http import SessionDep, SettingsDep
from siyu.events.catalogue import EVENT_TYPES
from siyu.web.console.analytics_common import (
    AnalyticsPage,
    DateQuery,
    Picker,
    connect,
    filters_for,
    period_from,
    render_or_export,
)
from siyu.web.console.errors import error_message

router = APIRouter()

BASE = "/console/analytics"
PREFIX = "analytics_behaviour"
WINDOW_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
EDITOR_ROWS = 8


# Traffic map ---------------------------------------------------------------------------


def sankey_option(result: traffic.TrafficMap, t: Any) -> dict[str, Any]:
    """An ECharts Sankey: nodes named by their (unique) translated labels."""
    return {
        "tooltip": {"trigger": "item", "triggerOn": "mousemove"},
        "series": [
            {
                "type": "sankey",
                "left": 8,
                "right": 120,
                "nodeAlign": "left",
                "emphasis": {"focus": "adjacency"},
                "lineStyle": {"color": "gradient", "curveness": 0.5},
                "data": [{"name": traffic.node_label(t, node.key)} for node in result.nodes],
                "links": [
                    {
                        "source": traffic.node_label(t, link.source),
                        "target": traffic.node_label(t, link.target),
                        "value": link.customers,
                    }
                    for link in result.links
                ],
            }
        ],
    }


@router.get("/console/analytics/traffic", response_model=None)
def traffic_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    period = period_from(settings, start, end)
    with connect(page, session, settings) as analytics:
        result = traffic.traffic_map(analytics, period)
    return render_or_export(
        page,
        "analytics/traffic.html",
        tab="traffic",
        tables=traffic.traffic_tables(result, page.t),
        export_format=export_format,
        table_name=table,
        filters=filters_for(page, period),
        result=result,
        sankey=sankey_option(result, page.t),
    )


# Funnels -------------------------------------------------------------------------------


def _parse_filter(text: str) -> dict[str, str | int]:
    """ "category=口红, brand=X" → {"category": "口红", "brand": "X"}; validation of the
    names and values is the service's."""
    where: dict[str, str | int] = {}
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        key, separator, value = part.partition("=")
        if not separator:
            raise InvalidAnalyticsRequest(
                "A property filter reads name=value.", data={"filter": part.strip()}
            )
        where[key.strip()] = value.strip()
    return where


def _funnel_option(result: funnels.FunnelResult, t: Any) -> dict[str, Any]:
    labels = [funnels.step_label(t, step) for step in result.steps]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 16, "right": 48, "top": 16, "bottom": 16, "containLabel": True},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "inverse": True, "data": labels},
        "series": [
            {
                "type": "bar",
                "name": t(f"{PREFIX}.column.customers"),
                "data": [step.customers for step in result.steps],
                "label": {"show": True, "position": "right"},
            }
        ],
    }


def _lifecycle_option(result: funnels.LifecycleFunnel, t: Any) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 16, "right": 16, "top": 24, "bottom": 16, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [t(f"{PREFIX}.lifecycle.{stage.stage}") for stage in result.stages],
        },
        "yAxis": {"type": "value"},
        "series": [
            {
                "type": "bar",
                "name": t(f"{PREFIX}.column.customers"),
                "data": [stage.customers for stage in result.stages],
                "label": {"show": True, "position": "top"},
            }
        ],
    }


@router.get("/console/analytics/funnels", response_model=None)
def funnels_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    step: Annotated[list[str] | None, Query(max_length=EDITOR_ROWS)] = None,
    where: Annotated[list[str] | None, Query(max_length=EDITOR_ROWS)] = None,
    window: Annotated[int, Query(ge=1, le=100000)] = 1,
    unit: Annotated[str, Query(max_length=8)] = "day",
    slice_by: Annotated[str, Query(alias="slice", max_length=16)] = "touchpoint",
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    period = period_from(settings, start, end)
    types = step if step is not None else list(funnels.DEFAULT_STEPS)
    filters_text = list(where or [])
    filters_text += [""] * (len(types) - len(filters_text))
    editor = [(kind.strip(), text.strip()) for kind, text in zip(types, filters_text, strict=False)]
    editor += [("", "")] * (EDITOR_ROWS - len(editor))
    error = None
    result = None
    tables: list[ReportTable] = []
    with connect(page, session, settings) as analytics:
        lifecycle = funnels.lifecycle_funnel(analytics, period)
        try:
            steps = [funnels.FunnelStep(kind, _parse_filter(text)) for kind, text in editor if kind]
            seconds = window * WINDOW_UNITS.get(unit, 0)
            result = funnels.funnel(
                analytics,
                period,
                steps,
                window=timedelta(seconds=seconds),
                slice_by=slice_by or None,
            )
            tables = funnels.funnel_tables(result, page.t)
        except (InvalidAnalyticsRequest, InvalidSlice) as refused:
            error = error_message(page.t, refused)
    tables += funnels.lifecycle_tables(lifecycle, page.t)
    # The date form above keeps the funnel being looked at.
    filters = filters_for(page, period)
    for kind, text in editor:
        if kind:
            filters.hidden += [("step", kind), ("where", text)]
    filters.hidden += [("window", str(window)), ("unit", unit), ("slice", slice_by)]
    return render_or_export(
        page,
        "analytics/funnels.html",
        tab="funnels",
        tables=tables,
        export_format=export_format,
        table_name=table,
        status=400 if error else 200,
        filters=filters,
        editor=editor,
        event_types=[*EVENT_TYPES],
        window=window,
        unit=unit,
        units=list(WINDOW_UNITS),
        slice_by=slice_by,
        slices=["", *funnels.SLICES],
        error=error,
        result=result,
        funnel_chart=_funnel_option(result, page.t) if result else None,
        lifecycle=lifecycle,
        lifecycle_chart=_lifecycle_option(lifecycle, page.t),
    )


# Cohorts -------------------------------------------------------------------------------


def heatmap_option(table: cohorts.CohortTable, t: Any) -> dict[str, Any]:
    """Cohorts (rows) × months since the first order (columns); ratios shown in %,
    LTV in yuan, unobserved cells left empty."""
    money = table.measure == "ltv"
    cells = []
    top = 0.0
    for row_index, row in enumerate(table.cohorts):
        for offset, value in enumerate(getattr(row, table.measure)):
            if value is None:
                continue
            shown = round(value / 100, 2) if money else round(value * 100, 1)
            top = max(top, shown)
            cells.append([offset, row_index, shown])
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 16, "right": 16, "top": 16, "bottom": 64, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [t(f"{PREFIX}.cohorts.offset", month=offset) for offset in table.offsets],
            "splitArea": {"show": True},
        },
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [cohorts.cohort_label(t, table, row.key) for row in table.cohorts],
            "splitArea": {"show": True},
        },
        "visualMap": {
            "min": 0,
            "max": top or 1,
            "calculable": True,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
        },
        "series": [
            {
                "type": "heatmap",
                "name": t(f"{PREFIX}.cohorts.measure.{table.measure}"),
                "data": cells,
                "label": {"show": True},
            }
        ],
    }


def ltv_option(table: cohorts.CohortTable, t: Any) -> dict[str, Any]:
    """One cumulative GMV-per-customer curve per cohort (fen; the axis shows ¥)."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 16, "right": 24, "top": 40, "bottom": 16, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [t(f"{PREFIX}.cohorts.offset", month=offset) for offset in table.offsets],
        },
        "yAxis": {"type": "value", "axisLabel": {"formatter": "yuan"}},
        "series": [
            {
                "type": "line",
                "name": cohorts.cohort_label(t, table, row.key),
                "data": row.ltv,
                "connectNulls": False,
            }
            for row in table.cohorts
        ],
    }


@router.get("/console/analytics/cohorts", response_model=None)
def cohorts_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    by: Annotated[str, Query(max_length=16)] = "month",
    measure: Annotated[str, Query(max_length=16)] = "retention",
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    period = parse_period(
        start, end, today=brand_today(settings), default_days=cohorts.DEFAULT_PERIOD_DAYS
    )
    with connect(page, session, settings) as analytics:
        result = cohorts.cohort_table(analytics, period, by=by, measure=measure)
    pickers = [
        Picker(
            "by",
            f"{PREFIX}.cohorts.by",
            [(kind, f"{PREFIX}.cohorts.by.{kind}") for kind in cohorts.COHORT_KINDS],
            by,
        ),
        Picker(
            "measure",
            f"{PREFIX}.cohorts.measure",
            [(name, f"{PREFIX}.cohorts.measure.{name}") for name in cohorts.MEASURES],
            measure,
        ),
    ]
    return render_or_export(
        page,
        "analytics/cohorts.html",
        tab="cohorts",
        tables=cohorts.cohort_tables(result, page.t),
        export_format=export_format,
        table_name=table,
        filters=filters_for(page, period, pickers),
        result=result,
        heatmap=heatmap_option(result, page.t),
        ltv_chart=ltv_option(result, page.t),
    )
