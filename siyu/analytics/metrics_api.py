"""Analytics API of the metrics core: the overview, metric series, slices and the GMV
driver tree (docs/metrics.md). Every endpoint answers JSON by default and, with
``?format=csv|xlsx[&table=name]``, the download of one of its report tables."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from siyu.analytics import drivers, metrics
from siyu.analytics import metrics_schemas as schemas
from siyu.analytics.attribution import AttributionModel, parse_model
from siyu.analytics.deps import AnalyticsDep, FormatQuery, GrainQuery, PeriodDep, TableQuery
from siyu.analytics.errors import InvalidPeriod, InvalidSlice
from siyu.analytics.language import request_translator
from siyu.analytics.period import Grain, Period
from siyu.analytics.report import ExportFormat, export_response
from siyu.analytics.slices import SliceBy, parse_slice

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

SliceQuery = Annotated[str | None, Query(alias="slice", max_length=32)]
ModelQuery = Annotated[str, Query(alias="model", max_length=32)]
DEFAULT_SLICE = SliceBy.CHANNEL_GROUP


def parse_variant(value: str | None) -> drivers.Variant:
    try:
        return drivers.Variant(value or drivers.Variant.FUNNEL)
    except ValueError:
        raise InvalidSlice(
            "Unknown driver tree variant.",
            data={"variant": value, "variants": [item.value for item in drivers.Variant]},
        ) from None


def base_period(current: Period, start: date | None, end: date | None) -> Period:
    """The comparison period: the one before ``current`` unless both dates are given."""
    if start is None and end is None:
        return current.previous()
    if start is None or end is None:
        raise InvalidPeriod("Give both base_start and base_end, or neither.")
    return Period(start, end)


@router.get("/overview", response_model=schemas.OverviewOut)
def overview(
    request: Request,
    analytics: AnalyticsDep,
    period: PeriodDep,
    grain: GrainQuery = Grain.DAY,
    slice_name: SliceQuery = None,
    model: ModelQuery = AttributionModel.LAST_TOUCH.value,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.OverviewOut | Response:
    """KPIs of the period against the previous one, their trend and one slice table."""
    slice_by = parse_slice(slice_name) or DEFAULT_SLICE
    attribution = parse_model(model)
    previous_period = period.previous()
    current, previous = metrics.summaries(analytics, [period, previous_period])
    trend = metrics.series(analytics, period, grain)
    slices = metrics.by_slice(analytics, period, slice_by, model=attribution)
    if export_format is not ExportFormat.JSON:
        t = request_translator(request)
        tables = [
            schemas.summary_table(t, current, previous),
            schemas.series_table(t, trend, sliced=False),
            schemas.slices_table(t, slices),
        ]
        return export_response(tables, export_format, table)
    return schemas.OverviewOut(
        start=period.start,
        end=period.end,
        previous_start=previous_period.start,
        previous_end=previous_period.end,
        grain=grain.value,
        slice=slice_by.value,
        model=attribution.value,
        current=current,
        previous=previous,
        change={name: schemas.change_rate(current[name], previous[name]) for name in current},
        series=schemas.series_rows(trend),
        slices=schemas.slice_rows(slices),
    )


@router.get("/metrics/series", response_model=schemas.SeriesOut)
def metric_series(
    request: Request,
    analytics: AnalyticsDep,
    period: PeriodDep,
    grain: GrainQuery = Grain.DAY,
    slice_name: SliceQuery = None,
    model: ModelQuery = AttributionModel.LAST_TOUCH.value,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.SeriesOut | Response:
    """Every metric per day, week or month (gaps as zeros), optionally per slice value."""
    slice_by = parse_slice(slice_name)
    attribution = parse_model(model)
    rows = metrics.series(analytics, period, grain, slice_by, model=attribution)
    if export_format is not ExportFormat.JSON:
        tables = [
            schemas.series_table(request_translator(request), rows, sliced=slice_by is not None)
        ]
        return export_response(tables, export_format, table)
    return schemas.SeriesOut(
        start=period.start,
        end=period.end,
        grain=grain.value,
        slice=slice_by.value if slice_by else None,
        model=attribution.value,
        rows=schemas.series_rows(rows),
    )


@router.get("/metrics/slices", response_model=schemas.SlicesOut)
def metric_slices(
    request: Request,
    analytics: AnalyticsDep,
    period: PeriodDep,
    slice_name: SliceQuery = None,
    model: ModelQuery = AttributionModel.LAST_TOUCH.value,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.SlicesOut | Response:
    """Every metric per value of ``?slice=`` (default: channel group)."""
    slice_by = parse_slice(slice_name) or DEFAULT_SLICE
    attribution = parse_model(model)
    rows = metrics.by_slice(analytics, period, slice_by, model=attribution)
    if export_format is not ExportFormat.JSON:
        tables = [schemas.slices_table(request_translator(request), rows)]
        return export_response(tables, export_format, table)
    return schemas.SlicesOut(
        start=period.start,
        end=period.end,
        slice=slice_by.value,
        model=attribution.value,
        rows=schemas.slice_rows(rows),
    )


@router.get("/drivers", response_model=schemas.DriversOut)
def driver_tree(
    request: Request,
    analytics: AnalyticsDep,
    period: PeriodDep,
    base_start: Annotated[date | None, Query()] = None,
    base_end: Annotated[date | None, Query()] = None,
    variant: Annotated[str | None, Query(max_length=32)] = None,
    drill: Annotated[str | None, Query(max_length=32)] = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.DriversOut | Response:
    """GMV change between two periods by factor (LMDI), optionally drilled by a slice."""
    tree = drivers.driver_tree(
        analytics,
        period,
        base_period(period, base_start, base_end),
        variant=parse_variant(variant),
        drill_by=parse_slice(drill),
    )
    if export_format is not ExportFormat.JSON:
        t = request_translator(request)
        tables = [schemas.factors_table(t, tree), schemas.drill_table(t, tree)]
        return export_response(tables, export_format, table)
    return schemas.drivers_out(tree)
