"""Response shapes and report tables of the metrics views (overview, series, slices,
driver tree). The API returns the models as JSON; the console shows the tables and
both export them (``?format=csv|xlsx&table=``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel

from siyu.analytics.drivers import Decomposition, DriverTree
from siyu.analytics.metrics import METRICS, Number
from siyu.analytics.report import ColumnKind, ReportColumn, ReportTable

Translate = Callable[..., str]
MetricValues = dict[str, int | float | None]

MONEY = frozenset(
    {
        "gmv",
        "paid_amount",
        "refunded_amount",
        "new_customer_gmv",
        "returning_customer_gmv",
        "member_gmv",
        "aov",
    }
)
RATIO = frozenset(
    {
        "conversion_rate",
        "repurchase_rate",
        "member_sales_share",
        "refund_rate",
        "refunded_order_rate",
    }
)
DECIMAL = frozenset({"purchase_frequency", "units_per_order"})
# The KPI cards of the overview, in order.
KPIS: tuple[str, ...] = (
    "gmv",
    "orders",
    "buyers",
    "visitors",
    "conversion_rate",
    "aov",
    "purchase_frequency",
    "repurchase_rate",
    "units_per_order",
    "new_customer_gmv",
    "returning_customer_gmv",
    "member_sales_share",
    "refund_rate",
    "refunded_order_rate",
)


def metric_kind(name: str) -> ColumnKind:
    if name in MONEY:
        return ColumnKind.MONEY
    if name in RATIO:
        return ColumnKind.RATIO
    if name in DECIMAL:
        return ColumnKind.NUMBER
    return ColumnKind.INTEGER


def change_rate(current: Number, previous: Number) -> float | None:
    """Relative change; None when there is nothing to compare against."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


# JSON -------------------------------------------------------------------------------


class SeriesRow(BaseModel):
    bucket: date
    slice: str | None = None
    label: str | None = None
    metrics: MetricValues


class SliceRow(BaseModel):
    slice: str | None
    label: str
    metrics: MetricValues


class SeriesOut(BaseModel):
    start: date
    end: date
    grain: str
    slice: str | None
    model: str
    rows: list[SeriesRow]


class SlicesOut(BaseModel):
    start: date
    end: date
    slice: str
    model: str
    rows: list[SliceRow]


class OverviewOut(BaseModel):
    start: date
    end: date
    previous_start: date
    previous_end: date
    grain: str
    slice: str
    model: str
    current: MetricValues
    previous: MetricValues
    change: dict[str, float | None]
    series: list[SeriesRow]
    slices: list[SliceRow]


class FactorOut(BaseModel):
    key: str
    segment: str
    base: float | None
    current: float | None
    change: float | None
    change_rate: float | None
    contribution: int


class DecompositionOut(BaseModel):
    method: str
    base_gmv: int
    current_gmv: int
    change: int
    factors: list[FactorOut]


class DrillOut(DecompositionOut):
    slice: str | None
    label: str


class DriversOut(DecompositionOut):
    variant: str
    start: date
    end: date
    base_start: date
    base_end: date
    drill_by: str | None
    drill: list[DrillOut]


def _metric_values(row: dict[str, Any]) -> MetricValues:
    return {name: row[name] for name in METRICS}


def series_rows(rows: list[dict[str, Any]]) -> list[SeriesRow]:
    return [
        SeriesRow(
            bucket=row["bucket"],
            slice=row.get("slice"),
            label=row.get("label"),
            metrics=_metric_values(row),
        )
        for row in rows
    ]


def slice_rows(rows: list[dict[str, Any]]) -> list[SliceRow]:
    return [
        SliceRow(slice=row["slice"], label=row["label"], metrics=_metric_values(row))
        for row in rows
    ]


def _decomposition(decomposition: Decomposition) -> dict[str, Any]:
    return {
        "method": decomposition.method.value,
        "base_gmv": decomposition.base_gmv,
        "current_gmv": decomposition.current_gmv,
        "change": decomposition.change,
        "factors": [
            FactorOut(
                key=factor.key,
                segment=factor.segment,
                base=factor.base,
                current=factor.current,
                change=factor.change,
                change_rate=factor.change_rate,
                contribution=factor.contribution,
            )
            for factor in decomposition.factors
        ],
    }


def drivers_out(tree: DriverTree) -> DriversOut:
    return DriversOut(
        variant=tree.variant.value,
        start=tree.current.start,
        end=tree.current.end,
        base_start=tree.base.start,
        base_end=tree.base.end,
        drill_by=tree.drill_by.value if tree.drill_by else None,
        drill=[
            DrillOut(slice=row.slice, label=row.label, **_decomposition(row.decomposition))
            for row in tree.drill
        ],
        **_decomposition(tree.total),
    )


# Report tables ----------------------------------------------------------------------


def metric_label(t: Translate, name: str) -> str:
    return t(f"analytics_metrics.metric.{name}")


def _metric_columns(t: Translate, names: tuple[str, ...] = METRICS) -> list[ReportColumn]:
    return [ReportColumn(name, metric_label(t, name), metric_kind(name)) for name in names]


def summary_table(t: Translate, current: MetricValues, previous: MetricValues) -> ReportTable:
    columns = [ReportColumn("period", t("analytics_metrics.column.period")), *_metric_columns(t)]
    rows = [
        {"period": t("analytics_metrics.period.current"), **current},
        {"period": t("analytics_metrics.period.previous"), **previous},
    ]
    return ReportTable("summary", columns, rows)


def series_table(t: Translate, rows: list[dict[str, Any]], *, sliced: bool) -> ReportTable:
    columns = [ReportColumn("bucket", t("analytics_metrics.column.bucket"), ColumnKind.DATE)]
    if sliced:
        columns.append(ReportColumn("label", t("analytics_metrics.column.slice")))
    return ReportTable("series", [*columns, *_metric_columns(t)], rows)


def slices_table(t: Translate, rows: list[dict[str, Any]]) -> ReportTable:
    columns = [ReportColumn("label", t("analytics_metrics.column.slice")), *_metric_columns(t)]
    return ReportTable("slices", columns, rows)


def factor_label(t: Translate, key: str, segment: str) -> str:
    name = t(f"analytics_metrics.factor.{key}")
    return f"{t(f'analytics_metrics.segment.{segment}')} · {name}" if segment else name


def _shown(key: str, value: Number) -> Number:
    """Factor values in a table of mixed factors: money as yuan, ratios as percent."""
    if value is None:
        return None
    if key == "aov":
        return round(value / 100, 2)
    if key == "conversion_rate":
        return round(value * 100, 4)
    return round(value, 4) if isinstance(value, float) else value


def factors_table(t: Translate, tree: DriverTree) -> ReportTable:
    columns = [
        ReportColumn("factor", t("analytics_metrics.column.factor")),
        ReportColumn("base", t("analytics_metrics.column.base"), ColumnKind.NUMBER),
        ReportColumn("current", t("analytics_metrics.column.current"), ColumnKind.NUMBER),
        ReportColumn("change_rate", t("analytics_metrics.column.change_rate"), ColumnKind.RATIO),
        ReportColumn("contribution", t("analytics_metrics.column.contribution"), ColumnKind.MONEY),
    ]
    rows = [
        {
            "factor": factor_label(t, factor.key, factor.segment),
            "base": _shown(factor.key, factor.base),
            "current": _shown(factor.key, factor.current),
            "change_rate": factor.change_rate,
            "contribution": factor.contribution,
        }
        for factor in tree.total.factors
    ]
    rows.append(
        {
            "factor": t("analytics_metrics.factor.gmv"),
            "base": round(tree.total.base_gmv / 100, 2),
            "current": round(tree.total.current_gmv / 100, 2),
            "change_rate": change_rate(tree.total.current_gmv, tree.total.base_gmv),
            "contribution": tree.total.change,
        }
    )
    return ReportTable("factors", columns, rows)


def drill_table(t: Translate, tree: DriverTree) -> ReportTable:
    factors = tree.total.factors
    columns = [
        ReportColumn("label", t("analytics_metrics.column.slice")),
        ReportColumn("base_gmv", t("analytics_metrics.column.base_gmv"), ColumnKind.MONEY),
        ReportColumn("current_gmv", t("analytics_metrics.column.current_gmv"), ColumnKind.MONEY),
        ReportColumn("change", t("analytics_metrics.column.change"), ColumnKind.MONEY),
        *(
            ReportColumn(
                f"{factor.segment}_{factor.key}".lstrip("_"),
                factor_label(t, factor.key, factor.segment),
                ColumnKind.MONEY,
            )
            for factor in factors
        ),
    ]
    rows = []
    for row in tree.drill:
        values: dict[str, Any] = {
            "label": row.label,
            "base_gmv": row.decomposition.base_gmv,
            "current_gmv": row.decomposition.current_gmv,
            "change": row.decomposition.change,
        }
        for factor in row.decomposition.factors:
            values[f"{factor.segment}_{factor.key}".lstrip("_")] = factor.contribution
        rows.append(values)
    return ReportTable("drill", columns, rows)
