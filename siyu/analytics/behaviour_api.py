"""Analytics API (behaviour): the traffic map, funnels and cohorts.

Each endpoint returns JSON and, with ``?format=csv|xlsx[&table=name]``, the download
of one of its tables (the POST funnel takes its steps in the body and the period,
format and table in the query).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from siyu.analytics import cohorts, funnels, traffic
from siyu.analytics.behaviour_schemas import (
    CohortTableOut,
    FunnelOut,
    FunnelRequest,
    LifecycleFunnelOut,
    TrafficMapOut,
)
from siyu.analytics.deps import (
    AnalyticsDep,
    FormatQuery,
    PeriodDep,
    TableQuery,
    brand_today,
)
from siyu.analytics.language import request_translator
from siyu.analytics.period import Period, parse_period
from siyu.analytics.report import ExportFormat, export_response
from siyu.core.http import SettingsDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


@router.get("/traffic", response_model=TrafficMapOut)
def get_traffic_map(
    request: Request,
    analytics: AnalyticsDep,
    period: PeriodDep,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> TrafficMapOut | Response:
    """Customers acquired in the period: source group → primary private-domain
    touchpoint → first order → repeat order (docs/analytics-behaviour.md)."""
    result = traffic.traffic_map(analytics, period)
    if export_format is not ExportFormat.JSON:
        return export_response(
            traffic.traffic_tables(result, request_translator(request)), export_format, table
        )
    return TrafficMapOut.model_validate(result)


@router.post("/funnels", response_model=FunnelOut)
def post_funnel(
    request: Request,
    body: FunnelRequest,
    analytics: AnalyticsDep,
    period: PeriodDep,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> FunnelOut | Response:
    """Customers reaching each ordered step within the window of their first step."""
    steps = [funnels.FunnelStep(step.type, dict(step.where)) for step in body.steps]
    # Clamp before building a timedelta so an absurd number is a 400, not an overflow.
    seconds = max(-1, min(body.window_seconds, int(funnels.MAX_WINDOW.total_seconds()) + 1))
    result = funnels.funnel(
        analytics, period, steps, window=timedelta(seconds=seconds), slice_by=body.slice
    )
    if export_format is not ExportFormat.JSON:
        return export_response(
            funnels.funnel_tables(result, request_translator(request)), export_format, table
        )
    return FunnelOut.model_validate(result)


@router.get("/funnels/lifecycle", response_model=LifecycleFunnelOut)
def get_lifecycle_funnel(
    request: Request,
    analytics: AnalyticsDep,
    period: PeriodDep,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> LifecycleFunnelOut | Response:
    """Acquired customers and how many were retained, converted and referred."""
    result = funnels.lifecycle_funnel(analytics, period)
    if export_format is not ExportFormat.JSON:
        return export_response(
            funnels.lifecycle_tables(result, request_translator(request)), export_format, table
        )
    return LifecycleFunnelOut.model_validate(result)


def cohort_period(
    settings: SettingsDep,
    start: Annotated[date | None, Query(description="First day of first orders")] = None,
    end: Annotated[date | None, Query(description="Last day of first orders")] = None,
) -> Period:
    return parse_period(
        start, end, today=brand_today(settings), default_days=cohorts.DEFAULT_PERIOD_DAYS
    )


@router.get("/cohorts", response_model=CohortTableOut)
def get_cohorts(
    request: Request,
    analytics: AnalyticsDep,
    settings: SettingsDep,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
    by: Annotated[str, Query(max_length=16, description="month or channel")] = "month",
    measure: Annotated[
        str, Query(max_length=16, description="retention, repurchase or ltv")
    ] = "retention",
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> CohortTableOut | Response:
    """Cohorts by first-order month or acquisition channel (year ending yesterday by
    default), with retention, repurchase and cumulative GMV per customer by month."""
    period = cohort_period(settings, start, end)
    result = cohorts.cohort_table(analytics, period, by=by, measure=measure)
    if export_format is not ExportFormat.JSON:
        return export_response(
            cohorts.cohort_tables(result, request_translator(request)), export_format, table
        )
    return CohortTableOut.model_validate(result)
