"""Console pages of attribution (归因, /console/analytics/attribution), campaign ROI
(活动 ROI, /console/analytics/campaigns and one campaign's page) and the operations
diagnosis grid (运营诊断, /console/analytics/diagnosis).

Numbers come from ``siyu.analytics.attribution``, ``roi`` and ``diagnosis``, as the
API's do; this module arranges them into ECharts options and report tables (each
exportable with ``?format=csv|xlsx``) and takes the fixed-cost form.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from siyu.analytics import campaigns_schemas as schemas
from siyu.analytics import diagnosis, roi
from siyu.analytics.attribution import (
    LOOKBACK_DAYS,
    AttributedValue,
    AttributionDimension,
    AttributionModel,
    attribute,
    parse_model,
)
from siyu.analytics.deps import FormatQuery, TableQuery
from siyu.analytics.report import ExportFormat
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep, SettingsDep
from siyu.staff.permissions import Permission
from siyu.web.console.analytics_charts import bar_chart, line_chart
from siyu.web.console.analytics_common import (
    BASE,
    AnalyticsPage,
    DateQuery,
    Picker,
    TextQuery,
    connect,
    filters_for,
    period_from,
    picker_options,
    render_or_export,
)
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

PREFIX = schemas.PREFIX
CREATE_CAMPAIGN_URL = "/console/campaigns"


def _model_picker(model: AttributionModel) -> Picker:
    return Picker(
        "model",
        f"{PREFIX}.picker.model",
        picker_options(PREFIX, "model", AttributionModel),
        model.value,
    )


def _touchpoint_labels(page: ConsolePage, items: list[AttributedValue]) -> list[AttributedValue]:
    """Touchpoint codes read as their names where the grid names them (公众号 …)."""
    return [
        replace(item, label=page.t(f"{PREFIX}.touchpoint.{item.value}"))
        if page.t.has(f"{PREFIX}.touchpoint.{item.value}")
        else item
        for item in items
    ]


@router.get(BASE + "/attribution")
def attribution_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    model: TextQuery = None,
    dimension: TextQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    period = period_from(settings, start, end)
    chosen = parse_model(model)
    by = schemas.parse_dimension(dimension)
    with connect(page, session, settings) as analytics:
        by_model = {
            each: attribute(analytics, period, model=each, dimension=by)
            for each in AttributionModel
        }
    if by is AttributionDimension.TOUCHPOINT:
        by_model = {each: _touchpoint_labels(page, items) for each, items in by_model.items()}
    comparison = schemas.comparison_rows(by_model)
    t = page.t
    top = comparison[:12]
    chart = bar_chart(
        [row.label for row in top],
        {
            t(f"{PREFIX}.model.{each.value}"): [getattr(row, each.value) for row in top]
            for each in AttributionModel
        },
        axis_format="yuan",
    )
    pickers = [
        _model_picker(chosen),
        Picker(
            "dimension",
            f"{PREFIX}.picker.dimension",
            picker_options(PREFIX, "dimension", AttributionDimension),
            by.value,
        ),
    ]
    return render_or_export(
        page,
        "analytics/attribution.html",
        tab="attribution",
        tables=schemas.attribution_tables(t, by_model[chosen], comparison),
        export_format=export_format,
        table_name=table,
        filters=filters_for(page, period, pickers),
        comparison_chart=chart,
        model=chosen.value,
        dimension=by.value,
        lookback_days=LOOKBACK_DAYS,
    )


@router.get(BASE + "/campaigns")
def campaigns_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    model: TextQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    period = period_from(settings, start, end)
    chosen = parse_model(model)
    with connect(page, session, settings) as analytics:
        results = roi.campaign_roi(analytics, session, period, model=chosen)
    t = page.t
    names = [result.name for result in results]
    roi_chart = bar_chart(names, {t(f"{PREFIX}.roi"): [result.roi for result in results]})
    money_chart = bar_chart(
        names,
        {
            t(f"{PREFIX}.attributed_gmv"): [result.attributed_gmv for result in results],
            t(f"{PREFIX}.cost.total"): [result.costs.total for result in results],
        },
        axis_format="yuan",
    )
    return render_or_export(
        page,
        "analytics/campaigns.html",
        tab="campaigns",
        tables=[schemas.campaigns_table(t, results)],
        export_format=export_format,
        table_name=table,
        filters=filters_for(page, period, [_model_picker(chosen)]),
        results=results,
        roi_chart=roi_chart,
        money_chart=money_chart,
        model=chosen.value,
        detail=None,
    )


def _detail_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    campaign_id: int,
    *,
    start: date | None,
    end: date | None,
    model: str | None,
    export_format: ExportFormat = ExportFormat.JSON,
    table: str | None = None,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    period = period_from(settings, start, end)
    chosen = parse_model(model)
    with connect(page, session, settings) as analytics:
        detail = roi.campaign_detail(analytics, session, period, campaign_id, model=chosen)
    t = page.t
    daily_chart = line_chart(
        [row["day"] for row in detail.days],
        {
            t(f"{PREFIX}.treatment"): [row["treatment"] for row in detail.days],
            t(f"{PREFIX}.holdout"): [row["holdout"] for row in detail.days],
        },
        axis_format="yuan",
    )
    response = render_or_export(
        page,
        "analytics/campaigns.html",
        tab="campaigns",
        tables=schemas.detail_tables(t, detail),
        export_format=export_format,
        table_name=table,
        filters=filters_for(page, period, [_model_picker(chosen)]),
        detail=detail.campaign,
        daily_chart=daily_chart,
        model=chosen.value,
        may_manage=page.may(Permission.CAMPAIGNS_MANAGE),
        flash=flash,
        error=error,
    )
    response.status_code = status
    return response


@router.get(BASE + "/campaigns/{campaign_id:int}")
def campaign_page(
    campaign_id: int,
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    model: TextQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
    done: str = "",
) -> Response:
    flash = page.t(f"{PREFIX}.fixed_cost_saved") if done == "fixed_cost" else None
    return _detail_page(
        page,
        session,
        settings,
        campaign_id,
        start=start,
        end=end,
        model=model,
        export_format=export_format,
        table=table,
        flash=flash,
    )


@router.post(BASE + "/campaigns/{campaign_id:int}/fixed-cost")
def campaign_fixed_cost(
    campaign_id: int,
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    fixed_cost_yuan: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    page.require(Permission.CAMPAIGNS_MANAGE)
    try:
        # Yuan with at most two decimals, stored as integer fen.
        amount = round(float(fixed_cost_yuan.strip()) * 100)
    except ValueError:
        amount = -1
    failure: tuple[str, int] | None = None
    if amount < 0:
        failure = page.t(f"{PREFIX}.fixed_cost_invalid"), 422
    else:
        outcome = attempt(
            session, lambda: roi.set_fixed_cost(session, page.principal, campaign_id, amount)
        )
        if isinstance(outcome, SiyuError):
            failure = error_message(page.t, outcome), outcome.status
    if failure is not None:
        message, status = failure
        return _detail_page(
            page,
            session,
            settings,
            campaign_id,
            start=None,
            end=None,
            model=None,
            error=message,
            status=status,
        )
    return RedirectResponse(f"{BASE}/campaigns/{campaign_id}?done=fixed_cost", status_code=303)


@router.get(BASE + "/diagnosis")
def diagnosis_page(
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
        grid = diagnosis.diagnosis_grid(analytics, session, period)
    return render_or_export(
        page,
        "analytics/diagnosis.html",
        tab="diagnosis",
        tables=[schemas.diagnosis_table(page.t, grid)],
        export_format=export_format,
        table_name=table,
        filters=filters_for(page, period),
        grid=grid,
        touchpoints=diagnosis.ROWS,
        stages=diagnosis.STAGES,
        create_url=CREATE_CAMPAIGN_URL,
    )
