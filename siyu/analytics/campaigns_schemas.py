"""Response shapes and report tables of attribution, campaign ROI and the diagnosis
grid. The API returns the models as JSON; the console shows the tables and both
export them (``?format=csv|xlsx&table=``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from siyu.analytics.attribution import (
    AttributedValue,
    AttributionDimension,
    AttributionModel,
)
from siyu.analytics.diagnosis import DiagnosisGrid
from siyu.analytics.errors import InvalidSlice
from siyu.analytics.report import ColumnKind, ReportColumn, ReportTable
from siyu.analytics.roi import CampaignDetail, CampaignRoi
from siyu.campaigns.registry.schemas import Fen

Translate = Callable[..., str]
PREFIX = "analytics_campaigns"
COST_ITEMS = ("campaign_discount", "coupons", "points", "commissions", "prizes", "fixed")


def parse_dimension(value: str | None) -> AttributionDimension:
    try:
        return AttributionDimension(value or AttributionDimension.CHANNEL_CODE)
    except ValueError:
        raise InvalidSlice(
            "Unknown attribution dimension.",
            data={"dimension": value, "dimensions": [item.value for item in AttributionDimension]},
        ) from None


class _FromObject(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Attribution -------------------------------------------------------------------------


class AttributedValueOut(_FromObject):
    value: str
    label: str
    credited_gmv: int
    credited_orders: float
    buyers: int
    share: float


class ModelComparisonOut(BaseModel):
    value: str
    label: str
    first_touch: int
    last_touch: int
    position_based: int


class AttributionOut(BaseModel):
    start: date
    end: date
    model: str
    dimension: str
    lookback_days: int
    total_gmv: int
    items: list[AttributedValueOut]
    comparison: list[ModelComparisonOut]


def comparison_rows(
    by_model: dict[AttributionModel, list[AttributedValue]],
) -> list[ModelComparisonOut]:
    """Credited GMV of every value under each model, largest last-touch value first."""
    labels: dict[str, str] = {}
    amounts: dict[str, dict[str, int]] = {}
    for model, items in by_model.items():
        for item in items:
            labels[item.value] = item.label
            amounts.setdefault(item.value, {})[model.value] = item.credited_gmv
    rows = [
        ModelComparisonOut(
            value=value,
            label=labels[value],
            **{model.value: amounts[value].get(model.value, 0) for model in AttributionModel},
        )
        for value in labels
    ]
    rows.sort(key=lambda row: (-row.last_touch, -row.first_touch, row.value))
    return rows


def attribution_tables(
    t: Translate, items: Sequence[AttributedValue], comparison: Sequence[ModelComparisonOut]
) -> list[ReportTable]:
    main = ReportTable(
        "attribution",
        [
            ReportColumn("value", t(f"{PREFIX}.value")),
            ReportColumn("label", t(f"{PREFIX}.label")),
            ReportColumn("credited_gmv", t(f"{PREFIX}.credited_gmv"), ColumnKind.MONEY),
            ReportColumn("credited_orders", t(f"{PREFIX}.credited_orders"), ColumnKind.NUMBER),
            ReportColumn("buyers", t(f"{PREFIX}.buyers"), ColumnKind.INTEGER),
            ReportColumn("share", t(f"{PREFIX}.share"), ColumnKind.RATIO),
        ],
        [AttributedValueOut.model_validate(item).model_dump() for item in items],
    )
    models = ReportTable(
        "attribution_models",
        [
            ReportColumn("value", t(f"{PREFIX}.value")),
            ReportColumn("label", t(f"{PREFIX}.label")),
            *(
                ReportColumn(model.value, t(f"{PREFIX}.model.{model.value}"), ColumnKind.MONEY)
                for model in AttributionModel
            ),
        ],
        [row.model_dump() for row in comparison],
    )
    return [main, models]


# Campaign ROI -------------------------------------------------------------------------


class CostsOut(_FromObject):
    campaign_discount: int
    coupons: int
    points: int
    commissions: int
    prizes: int
    fixed: int
    total: int


class HoldoutOut(_FromObject):
    holdout_percent: int
    treatment_customers: int
    holdout_customers: int
    treatment_gmv_per_customer: float
    holdout_gmv_per_customer: float
    incremental_gmv_per_customer: float
    confidence_low: float | None
    confidence_high: float | None
    degrees_of_freedom: float | None
    incremental_gmv: float


class CampaignRoiOut(_FromObject):
    campaign_id: int
    public_id: str
    name: str
    kind: str
    status: str
    lifecycle_stage: str
    touchpoints: list[str]
    starts_at: datetime
    ends_at: datetime
    costs: CostsOut
    attributed_gmv: int
    attributed_orders: float
    orders: int
    participants: int
    gross_margin: int
    roi: float | None
    holdout: HoldoutOut | None


class CampaignsOut(BaseModel):
    start: date
    end: date
    model: str
    items: list[CampaignRoiOut]


class CampaignDayOut(BaseModel):
    day: date
    treatment_gmv_per_customer: float
    holdout_gmv_per_customer: float


class CampaignDetailOut(BaseModel):
    start: date
    end: date
    model: str
    campaign: CampaignRoiOut
    days: list[CampaignDayOut]


class FixedCostIn(BaseModel):
    fixed_cost_amount: Fen


class FixedCostOut(BaseModel):
    campaign_id: int
    fixed_cost_amount: int


def campaign_row(result: CampaignRoi) -> dict[str, Any]:
    """One flat table row of a campaign's ROI (costs itemised, holdout summarised)."""
    holdout = result.holdout
    return {
        "campaign_id": result.campaign_id,
        "name": result.name,
        "kind": result.kind,
        "lifecycle_stage": result.lifecycle_stage,
        "attributed_gmv": result.attributed_gmv,
        "orders": result.orders,
        "participants": result.participants,
        **{item: getattr(result.costs, item) for item in COST_ITEMS},
        "cost": result.costs.total,
        "gross_margin": result.gross_margin,
        "roi": result.roi,
        "incremental_per_customer": holdout.incremental_gmv_per_customer if holdout else None,
        "confidence_low": holdout.confidence_low if holdout else None,
        "confidence_high": holdout.confidence_high if holdout else None,
        "incremental_gmv": holdout.incremental_gmv if holdout else None,
    }


def campaigns_table(t: Translate, results: Sequence[CampaignRoi]) -> ReportTable:
    money = ColumnKind.MONEY
    return ReportTable(
        "campaign_roi",
        [
            ReportColumn("campaign_id", t(f"{PREFIX}.campaign_id"), ColumnKind.INTEGER),
            ReportColumn("name", t(f"{PREFIX}.campaign")),
            ReportColumn("kind", t(f"{PREFIX}.kind")),
            ReportColumn("lifecycle_stage", t(f"{PREFIX}.stage")),
            ReportColumn("attributed_gmv", t(f"{PREFIX}.attributed_gmv"), money),
            ReportColumn("orders", t(f"{PREFIX}.orders"), ColumnKind.INTEGER),
            ReportColumn("participants", t(f"{PREFIX}.participants"), ColumnKind.INTEGER),
            *(ReportColumn(item, t(f"{PREFIX}.cost.{item}"), money) for item in COST_ITEMS),
            ReportColumn("cost", t(f"{PREFIX}.cost.total"), money),
            ReportColumn("gross_margin", t(f"{PREFIX}.gross_margin"), money),
            ReportColumn("roi", t(f"{PREFIX}.roi"), ColumnKind.NUMBER),
            ReportColumn(
                "incremental_per_customer", t(f"{PREFIX}.incremental_per_customer"), money
            ),
            ReportColumn("confidence_low", t(f"{PREFIX}.confidence_low"), money),
            ReportColumn("confidence_high", t(f"{PREFIX}.confidence_high"), money),
            ReportColumn("incremental_gmv", t(f"{PREFIX}.incremental_gmv"), money),
        ],
        [campaign_row(result) for result in results],
    )


def day_rows(detail: CampaignDetail) -> list[CampaignDayOut]:
    return [
        CampaignDayOut(
            day=row["day"],
            treatment_gmv_per_customer=row["treatment"],
            holdout_gmv_per_customer=row["holdout"],
        )
        for row in detail.days
    ]


def detail_tables(t: Translate, detail: CampaignDetail) -> list[ReportTable]:
    costs = ReportTable(
        "campaign_costs",
        [
            ReportColumn("item", t(f"{PREFIX}.cost_item")),
            ReportColumn("amount", t(f"{PREFIX}.amount"), ColumnKind.MONEY),
        ],
        [
            {"item": t(f"{PREFIX}.cost.{item}"), "amount": getattr(detail.campaign.costs, item)}
            for item in (*COST_ITEMS, "total")
        ],
    )
    days = ReportTable(
        "campaign_daily",
        [
            ReportColumn("day", t(f"{PREFIX}.day"), ColumnKind.DATE),
            ReportColumn("treatment_gmv_per_customer", t(f"{PREFIX}.treatment"), ColumnKind.MONEY),
            ReportColumn("holdout_gmv_per_customer", t(f"{PREFIX}.holdout"), ColumnKind.MONEY),
        ],
        [row.model_dump() for row in day_rows(detail)],
    )
    return [campaigns_table(t, [detail.campaign]), costs, days]


# Diagnosis grid -----------------------------------------------------------------------


class CellCampaignOut(_FromObject):
    campaign_id: int
    name: str
    kind: str
    attributed_gmv: int
    orders: int
    participants: int


class DiagnosisCellOut(_FromObject):
    touchpoint: str
    stage: str
    missing: bool
    audience: int
    campaigns: list[CellCampaignOut]


class DiagnosisOut(BaseModel):
    start: date
    end: date
    touchpoints: list[str]
    stages: list[str]
    missing_count: int
    cells: list[DiagnosisCellOut]


def diagnosis_table(t: Translate, grid: DiagnosisGrid) -> ReportTable:
    return ReportTable(
        "diagnosis",
        [
            ReportColumn("touchpoint", t(f"{PREFIX}.touchpoint")),
            ReportColumn("stage", t(f"{PREFIX}.stage")),
            ReportColumn("status", t(f"{PREFIX}.status")),
            ReportColumn("campaigns", t(f"{PREFIX}.campaigns")),
            ReportColumn("attributed_gmv", t(f"{PREFIX}.attributed_gmv"), ColumnKind.MONEY),
            ReportColumn("audience", t(f"{PREFIX}.audience"), ColumnKind.INTEGER),
        ],
        [
            {
                "touchpoint": t(f"{PREFIX}.touchpoint.{cell.touchpoint}"),
                "stage": t(f"{PREFIX}.stage.{cell.stage}"),
                "status": t(f"{PREFIX}.missing") if cell.missing else t(f"{PREFIX}.covered"),
                "campaigns": "、".join(item.name for item in cell.campaigns),
                "attributed_gmv": sum(item.attributed_gmv for item in cell.campaigns),
                "audience": cell.audience,
            }
            for cell in grid.cells
        ],
    )
