"""Analytics API of attribution, campaign ROI and the operations diagnosis grid
(docs/analytics-campaigns.md). Every GET answers JSON by default and, with
``?format=csv|xlsx[&table=name]``, the download of one of its report tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from siyu.analytics import campaigns_schemas as schemas
from siyu.analytics import diagnosis, roi
from siyu.analytics.attribution import LOOKBACK_DAYS, AttributionModel, attribute, parse_model
from siyu.analytics.connection import ORDER_PARTITION_SLACK_DAYS
from siyu.analytics.deps import AnalyticsDep, FormatQuery, PeriodDep, TableQuery
from siyu.analytics.language import request_translator
from siyu.analytics.report import ExportFormat, export_response
from siyu.core.http import SessionDep
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

ModelQuery = Annotated[str | None, Query(alias="model", max_length=32)]
DimensionQuery = Annotated[str | None, Query(alias="dimension", max_length=32)]
Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]


@router.get("/attribution", response_model=schemas.AttributionOut)
def attribution(
    request: Request,
    analytics: AnalyticsDep,
    period: PeriodDep,
    model: ModelQuery = None,
    dimension: DimensionQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.AttributionOut | Response:
    """GMV, orders and buyers credited to each channel code, touchpoint, guide or
    campaign under the chosen model, with the three models side by side."""
    chosen = parse_model(model)
    by = schemas.parse_dimension(dimension)
    by_model = {
        each: attribute(analytics, period, model=each, dimension=by) for each in AttributionModel
    }
    comparison = schemas.comparison_rows(by_model)
    if export_format is not ExportFormat.JSON:
        tables = schemas.attribution_tables(
            request_translator(request), by_model[chosen], comparison
        )
        return export_response(tables, export_format, table)
    items = by_model[chosen]
    total = analytics.rows(
        "SELECT COALESCE(sum(o.gmv), 0) AS gmv FROM a_orders o WHERE "
        + period.where(
            "o.paid_at", analytics.timezone, partition_slack_days=ORDER_PARTITION_SLACK_DAYS
        )
    )[0]["gmv"]
    return schemas.AttributionOut(
        start=period.start,
        end=period.end,
        model=chosen.value,
        dimension=by.value,
        lookback_days=LOOKBACK_DAYS,
        total_gmv=int(total),
        items=[schemas.AttributedValueOut.model_validate(item) for item in items],
        comparison=comparison,
    )


@router.get("/campaigns", response_model=schemas.CampaignsOut)
def campaigns(
    request: Request,
    analytics: AnalyticsDep,
    session: SessionDep,
    period: PeriodDep,
    model: ModelQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.CampaignsOut | Response:
    """Cost, attributed GMV, margin, ROI and holdout lift of every campaign of the period."""
    chosen = parse_model(model)
    results = roi.campaign_roi(analytics, session, period, model=chosen)
    if export_format is not ExportFormat.JSON:
        tables = [schemas.campaigns_table(request_translator(request), results)]
        return export_response(tables, export_format, table)
    return schemas.CampaignsOut(
        start=period.start,
        end=period.end,
        model=chosen.value,
        items=[schemas.CampaignRoiOut.model_validate(result) for result in results],
    )


@router.get("/campaigns/{campaign_id:int}", response_model=schemas.CampaignDetailOut)
def campaign(
    campaign_id: int,
    request: Request,
    analytics: AnalyticsDep,
    session: SessionDep,
    period: PeriodDep,
    model: ModelQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.CampaignDetailOut | Response:
    """One campaign: costs itemised and daily GMV per customer, treatment vs holdout."""
    chosen = parse_model(model)
    detail = roi.campaign_detail(analytics, session, period, campaign_id, model=chosen)
    if export_format is not ExportFormat.JSON:
        tables = schemas.detail_tables(request_translator(request), detail)
        return export_response(tables, export_format, table)
    return schemas.CampaignDetailOut(
        start=period.start,
        end=period.end,
        model=chosen.value,
        campaign=schemas.CampaignRoiOut.model_validate(detail.campaign),
        days=schemas.day_rows(detail),
    )


@router.put("/campaigns/{campaign_id:int}/fixed-cost", response_model=schemas.FixedCostOut)
def put_fixed_cost(
    campaign_id: int, body: schemas.FixedCostIn, session: SessionDep, principal: Manager
) -> schemas.FixedCostOut:
    """Set what the campaign cost outside siyu (design, ads, staff time), in fen."""
    updated = roi.set_fixed_cost(session, principal, campaign_id, body.fixed_cost_amount)
    return schemas.FixedCostOut(campaign_id=updated.id, fixed_cost_amount=updated.fixed_cost_amount)


@router.get("/diagnosis", response_model=schemas.DiagnosisOut)
def diagnosis_view(
    request: Request,
    analytics: AnalyticsDep,
    session: SessionDep,
    period: PeriodDep,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> schemas.DiagnosisOut | Response:
    """Touchpoint × lifecycle stage: the campaigns in each cell, 缺失 cells with the
    audience left alone there."""
    grid = diagnosis.diagnosis_grid(analytics, session, period)
    if export_format is not ExportFormat.JSON:
        tables = [schemas.diagnosis_table(request_translator(request), grid)]
        return export_response(tables, export_format, table)
    return schemas.DiagnosisOut(
        start=period.start,
        end=period.end,
        touchpoints=list(diagnosis.ROWS),
        stages=list(diagnosis.STAGES),
        missing_count=grid.missing_count,
        cells=[schemas.DiagnosisCellOut.model_validate(cell) for cell in grid.cells],
    )
