"""Console pages of the metrics core: the overview (经营总览, /console/analytics) and the
GMV driver tree (GMV 驱动树, /console/analytics/drivers).

Numbers come from ``siyu.analytics.metrics`` and ``siyu.analytics.drivers``, as the
API's do; this module only arranges them into KPI cards, ECharts options
(``analytics_charts``) and report tables, each exportable with ``?format=csv|xlsx``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from siyu.analytics import drivers, metrics
from siyu.analytics import metrics_schemas as schemas
from siyu.analytics.attribution import AttributionModel
from siyu.analytics.deps import FormatQuery, TableQuery
from siyu.analytics.metrics_api import DEFAULT_SLICE, base_period, parse_model, parse_variant
from siyu.analytics.period import Grain
from siyu.analytics.report import ColumnKind, ExportFormat
from siyu.analytics.slices import ATTRIBUTABLE, SliceBy, parse_slice
from siyu.core.http import SessionDep, SettingsDep
from siyu.web.console.analytics_charts import dual_axis_line_chart, tree_chart, waterfall_chart
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

router = APIRouter()

PREFIX = "analytics_metrics"


def _money(value: float) -> str:
    return f"¥{value / 100:,.2f}"


def _formatted(name: str, value: float | None) -> str:
    """A KPI value as the card shows it ("—" when undefined)."""
    if value is None:
        return "—"
    kind = schemas.metric_kind(name)
    if kind is ColumnKind.MONEY:
        return _money(value)
    if kind is ColumnKind.RATIO:
        return f"{value * 100:.1f}%"
    if kind is ColumnKind.NUMBER:
        return f"{value:,.2f}"
    return f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


def _cards(page: ConsolePage, current: dict[str, Any], previous: dict[str, Any]) -> list[dict]:
    cards = []
    for name in schemas.KPIS:
        change = schemas.change_rate(current[name], previous[name])
        cards.append(
            {
                "key": name,
                "label": page.t(f"{PREFIX}.metric.{name}"),
                "value": _formatted(name, current[name]),
                "previous": _formatted(name, previous[name]),
                "change": None if change is None else f"{change * 100:+.1f}%",
                "direction": "" if not change else ("up" if change > 0 else "down"),
            }
        )
    return cards


@router.get(BASE)
def overview_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    grain: Grain = Grain.DAY,
    slice_name: Annotated[str | None, Query(alias="slice", max_length=32)] = None,
    model: TextQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    period = period_from(settings, start, end)
    slice_by = parse_slice(slice_name) or DEFAULT_SLICE
    attribution = parse_model(model)
    if slice_by not in ATTRIBUTABLE:
        attribution = AttributionModel.LAST_TOUCH  # the picker stays; it has no effect here
    with connect(page, session, settings) as analytics:
        current, previous = metrics.summaries(analytics, [period, period.previous()])
        trend = metrics.series(analytics, period, grain)
        slices = metrics.by_slice(analytics, period, slice_by, model=attribution)
    t = page.t
    if slice_by is SliceBy.NEW_RETURNING:  # codes, not names: show them translated
        for row in slices:
            row["label"] = t(f"{PREFIX}.segment.{row['slice']}")
    chart = dual_axis_line_chart(
        [row["bucket"] for row in trend],
        {t(f"{PREFIX}.metric.gmv"): [row["gmv"] for row in trend]},
        {
            t(f"{PREFIX}.metric.orders"): [row["orders"] for row in trend],
            t(f"{PREFIX}.metric.visitors"): [row["visitors"] for row in trend],
        },
    )
    pickers = [
        Picker(
            "grain", f"{PREFIX}.filter.grain", picker_options(PREFIX, "grain", Grain), grain.value
        ),
        Picker(
            "slice", f"{PREFIX}.filter.slice", picker_options(PREFIX, "slice", SliceBy), slice_by
        ),
        Picker(
            "model",
            f"{PREFIX}.filter.model",
            picker_options(PREFIX, "model", AttributionModel),
            attribution.value,
        ),
    ]
    return render_or_export(
        page,
        "analytics/overview.html",
        tab="overview",
        tables=[
            schemas.summary_table(t, current, previous),
            schemas.series_table(t, trend, sliced=False),
            schemas.slices_table(t, slices),
        ],
        export_format=export_format,
        table_name=table,
        filters=filters_for(page, period, pickers),
        cards=_cards(page, current, previous),
        trend_chart=chart,
        slice_label=t(f"{PREFIX}.slice.{slice_by.value}"),
        previous_period=period.previous(),
    )


def _factor_node(t: Any, factor: drivers.Factor) -> dict[str, Any]:
    shown = _formatted(factor.key if factor.key != "customers" else "buyers", factor.current)
    change = factor.change_rate
    change_text = "" if change is None else f" ({change * 100:+.1f}%)"
    return {
        "name": f"{t(f'{PREFIX}.factor.{factor.key}')}: {shown}{change_text}",
        "value": factor.contribution,
        "contribution": _money(factor.contribution),
    }


def _tree_option(t: Any, tree: drivers.DriverTree) -> dict[str, Any]:
    total = tree.total
    gmv_change = schemas.change_rate(total.current_gmv, total.base_gmv)
    change_text = "" if gmv_change is None else f" ({gmv_change * 100:+.1f}%)"
    root: dict[str, Any] = {
        "name": f"GMV {_money(total.current_gmv)}{change_text}",
        "value": total.change,
        "children": [],
    }
    if tree.variant is drivers.Variant.FUNNEL:
        root["children"] = [_factor_node(t, factor) for factor in total.factors]
        return tree_chart(root)
    for segment in drivers.SEGMENTS:
        parts = [factor for factor in total.factors if factor.segment == segment]
        root["children"].append(
            {
                "name": f"{t(f'{PREFIX}.segment.{segment}')} GMV "
                f"{_money(sum(f.contribution for f in parts))}",
                "value": sum(factor.contribution for factor in parts),
                "children": [_factor_node(t, factor) for factor in parts],
            }
        )
    return tree_chart(root)


@router.get(BASE + "/drivers")
def drivers_page(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: DateQuery = None,
    base_start: DateQuery = None,
    base_end: DateQuery = None,
    variant: TextQuery = None,
    drill: TextQuery = None,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> Response:
    period = period_from(settings, start, end)
    base = base_period(period, base_start, base_end)
    chosen_variant = parse_variant(variant)
    drill_by = parse_slice(drill)
    with connect(page, session, settings) as analytics:
        tree = drivers.driver_tree(
            analytics, period, base, variant=chosen_variant, drill_by=drill_by
        )
    t = page.t
    bridge = waterfall_chart(
        [
            (schemas.factor_label(t, factor.key, factor.segment), factor.contribution)
            for factor in tree.total.factors
        ],
        start=(t(f"{PREFIX}.drivers.start"), tree.total.base_gmv),
        end=(t(f"{PREFIX}.drivers.end"), tree.total.current_gmv),
        increase_label=t(f"{PREFIX}.drivers.increase"),
        decrease_label=t(f"{PREFIX}.drivers.decrease"),
    )
    filters = filters_for(
        page,
        period,
        [
            Picker(
                "variant",
                f"{PREFIX}.filter.variant",
                picker_options(PREFIX, "variant", drivers.Variant),
                chosen_variant.value,
            ),
            Picker(
                "drill",
                f"{PREFIX}.filter.drill",
                [("", f"{PREFIX}.slice.none"), *picker_options(PREFIX, "slice", SliceBy)],
                drill_by.value if drill_by else "",
            ),
        ],
    )
    if base_start and base_end:
        filters.hidden += [
            ("base_start", base.start.isoformat()),
            ("base_end", base.end.isoformat()),
        ]
    return render_or_export(
        page,
        "analytics/drivers.html",
        tab="drivers",
        tables=[schemas.factors_table(t, tree), schemas.drill_table(t, tree)],
        export_format=export_format,
        table_name=table,
        filters=filters,
        tree=tree,
        tree_chart=_tree_option(t, tree),
        bridge_chart=bridge,
        change=_money(tree.total.change),
    )
