"""The metrics core: one definition of each commerce metric, used by every view.

Definitions (docs/metrics.md states them in full):

- GMV: paid minus refunded amount of the orders paid in the period (``GMV_SQL``), fen;
- orders: paid orders; buyers: distinct customers with a paid order;
- visitors: distinct customers with a tracked event *or* a paid order in the period
  (a purchase is a visit: orders taken where nothing is tracked, such as a store
  till, would otherwise give a conversion above 100 % and break the driver tree);
- conversion = buyers / visitors; AOV = GMV / orders; frequency = orders / buyers;
- repurchase rate = buyers with two or more paid orders in the period / buyers;
- units per order (连带率) = units / orders;
- new customers: buyers whose first paid order ever (over all stores) falls in the
  period; their GMV is every order of theirs in the period; returning = the rest;
- member sales share (会销比) = GMV of orders placed by members (joined before the
  payment) / GMV;
- refund rate = refunded amount / paid amount; refunded-order rate = orders with any
  refund / orders.

A ratio whose denominator is zero is ``None`` (shown "—"), never an error. Series
buckets are grain buckets of the period (gaps filled with zeros) and "new" always means
new in the requested period, so buckets add up to the period's totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from siyu.analytics.attribution import AttributionDimension, AttributionModel, credit_sql
from siyu.analytics.connection import ORDER_PARTITION_SLACK_DAYS, Analytics
from siyu.analytics.errors import InvalidSlice
from siyu.analytics.period import Grain, Period, bucket_sql, buckets
from siyu.analytics.slices import (
    ATTRIBUTABLE,
    LINE_LEVEL,
    SliceBy,
    line_facts_sql,
    new_customer_sql,
    slice_labels,
    slice_sql,
)

# Additive counts and amounts, summed over orders; the ratios below derive from them.
BASE_METRICS: tuple[str, ...] = (
    "gmv",
    "paid_amount",
    "refunded_amount",
    "orders",
    "buyers",
    "visitors",
    "repeat_buyers",
    "units",
    "new_customers",
    "new_customer_gmv",
    "new_customer_orders",
    "returning_customers",
    "returning_customer_gmv",
    "returning_customer_orders",
    "member_gmv",
    "refunded_orders",
)
# ratio name -> (numerator, denominator)
RATIOS: dict[str, tuple[str, str]] = {
    "conversion_rate": ("buyers", "visitors"),
    "aov": ("gmv", "orders"),
    "purchase_frequency": ("orders", "buyers"),
    "repurchase_rate": ("repeat_buyers", "buyers"),
    "units_per_order": ("units", "orders"),
    "member_sales_share": ("member_gmv", "gmv"),
    "refund_rate": ("refunded_amount", "paid_amount"),
    "refunded_order_rate": ("refunded_orders", "orders"),
}
METRICS: tuple[str, ...] = (*BASE_METRICS, *RATIOS)

_ATTRIBUTION_DIMENSIONS: dict[SliceBy, AttributionDimension] = {
    SliceBy.TOUCHPOINT: AttributionDimension.TOUCHPOINT,
    SliceBy.CHANNEL_CODE: AttributionDimension.CHANNEL_CODE,
    SliceBy.CAMPAIGN: AttributionDimension.CAMPAIGN,
    SliceBy.GUIDE: AttributionDimension.GUIDE,
}

Number = int | float | None


def ratio(numerator: Number, denominator: Number) -> float | None:
    """``numerator / denominator``; ``None`` when the denominator is zero or missing."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def derive(base: dict[str, Any]) -> dict[str, Number]:
    """Every metric from the additive ones (missing additive metrics count as 0)."""
    values: dict[str, Number] = {name: base.get(name) or 0 for name in BASE_METRICS}
    for name, (numerator, denominator) in RATIOS.items():
        values[name] = ratio(values[numerator], values[denominator])
    return values


def _check_model(slice_by: SliceBy | None, model: AttributionModel) -> bool:
    """Whether credit is weighted by an attribution model (not the recorded last touch)."""
    if model is AttributionModel.LAST_TOUCH:
        return False
    if slice_by not in ATTRIBUTABLE:
        raise InvalidSlice(
            "Attribution models apply to the touchpoint, channel code, campaign and guide "
            "slices only.",
            data={"slice": slice_by.value if slice_by else None, "model": model.value},
        )
    return True


def _paid_in(column: str, period: Period, timezone: str) -> str:
    begin, finish = period.utc_bounds(timezone)
    low, high = begin.isoformat(sep=" "), finish.isoformat(sep=" ")
    return f"({column} >= TIMESTAMP '{low}' AND {column} < TIMESTAMP '{high}')"


def _partitions(periods: Sequence[Period], timezone: str, slack_days: int) -> str:
    """Hive ``day`` bounds of all the periods (only partition values, so DuckDB prunes
    files even when the periods are far apart)."""
    ranges = []
    for period in periods:
        begin, finish = period.utc_bounds(timezone)
        low = begin.date() - timedelta(days=slack_days)
        ranges.append(
            f"day BETWEEN DATE '{low.isoformat()}' AND DATE '{finish.date().isoformat()}'"
        )
    return "(" + " OR ".join(ranges) + ")"


def _per_period(expressions: list[str]) -> str:
    """The expression of the row's period (``period_index``)."""
    if len(expressions) == 1:
        return expressions[0]
    cases = " ".join(f"WHEN {index} THEN {sql}" for index, sql in enumerate(expressions))
    return f"CASE period_index {cases} END"


def _rows_of(table: str, column: str, periods: Sequence[Period], timezone: str, slack: int) -> str:
    """Rows of ``table`` (aliased like its column) in any of the periods, with the index
    of their period."""
    alias = column.split(".")[0]
    tests = [_paid_in(column, period, timezone) for period in periods]
    index = " ".join(f"WHEN {test} THEN {number}" for number, test in enumerate(tests))
    return (
        f"SELECT {alias}.*, CASE {index} END AS period_index FROM {table} {alias} "
        f"WHERE {_partitions(periods, timezone, slack)} AND ({' OR '.join(tests)})"
    )


def _order_facts(
    analytics: Analytics,
    periods: Sequence[Period],
    slice_by: SliceBy | None,
    model: AttributionModel,
) -> str:
    """One row per (paid order of the periods, slice value) with its period, weight (1
    unless an attribution model splits the order) and amounts; columns: period_index,
    order_id, customer_id, local_day, slice_value, weight, gmv, paid_amount,
    refunded_amount, units, is_member, is_new."""
    timezone = analytics.timezone
    orders = _rows_of("a_orders", "o.paid_at", periods, timezone, ORDER_PARTITION_SLACK_DAYS)
    is_new = _per_period(
        [new_customer_sql("o.first_paid_at", period, timezone) for period in periods]
    )
    common = (
        f"o.period_index, o.order_id, o.customer_id, o.local_day, o.is_member, {is_new} AS is_new"
    )
    if slice_by in LINE_LEVEL:
        lines = _partitions(periods, timezone, ORDER_PARTITION_SLACK_DAYS)
        return (
            f"SELECT {common}, o.slice_value, 1 AS weight, o.line_gmv AS gmv, "
            "o.line_paid AS paid_amount, o.line_refunded AS refunded_amount, "
            f"o.line_units AS units FROM ({line_facts_sql(orders, lines)}) o"
        )
    amounts = "o.gmv, o.paid_amount, o.refunded_amount, o.units"
    if slice_by is not None and _check_model(slice_by, model):
        dimension = _ATTRIBUTION_DIMENSIONS[slice_by]
        credits = " UNION ALL ".join(
            f"({credit_sql(model, dimension, period, timezone)})" for period in periods
        )
        return (
            f"SELECT {common}, c.value AS slice_value, c.weight, {amounts} "
            f"FROM ({orders}) o JOIN ({credits}) c ON c.order_id = o.order_id"
        )
    value = "NULL"
    if slice_by is not None:
        value = _per_period(
            [slice_sql(slice_by, period, timezone).order_value for period in periods]
        )
    return f"SELECT {common}, {value} AS slice_value, 1 AS weight, {amounts} FROM ({orders}) o"


def _event_facts(analytics: Analytics, periods: Sequence[Period], slice_by: SliceBy | None) -> str:
    """(period_index, customer_id, local_day, slice_value) of the periods' events."""
    events = _rows_of("a_events", "e.occurred_at", periods, analytics.timezone, 0)
    if slice_by is None:
        return (
            "SELECT e.period_index, e.customer_id, e.local_day, NULL AS slice_value "
            f"FROM ({events}) e"
        )
    sqls = [slice_sql(slice_by, period, analytics.timezone) for period in periods]
    value = _per_period([sql.event_value for sql in sqls]).replace(
        "CASE period_index", "CASE e.period_index"
    )
    return (
        f"SELECT e.period_index, e.customer_id, e.local_day, {value} AS slice_value "
        f"FROM ({events}) e{sqls[0].event_joins}"
    )


def _overlap(periods: Sequence[Period]) -> bool:
    ordered = sorted(periods, key=lambda period: period.start)
    return any(
        later.start <= earlier.end for earlier, later in zip(ordered, ordered[1:], strict=False)
    )


Key = tuple[int, Any, Any]  # (period index, bucket, slice value)


def aggregate(
    analytics: Analytics,
    periods: Sequence[Period],
    *,
    grain: Grain | None,
    slice_by: SliceBy | None,
    model: AttributionModel,
) -> dict[Key, dict[str, Any]]:
    """Additive metrics per (period index, bucket, slice value), in one statement over
    all the periods so the scoped order view is read once (the driver tree and the
    overview compare two periods); bucket is None without a grain."""
    if _overlap(periods):  # a row can only belong to one period of a statement
        results: dict[Key, dict[str, Any]] = {}
        for index, period in enumerate(periods):
            for (_, bucket, value), row in aggregate(
                analytics, [period], grain=grain, slice_by=slice_by, model=model
            ).items():
                results[(index, bucket, value)] = row
        return results
    bucket = bucket_sql("local_day", grain) if grain is not None else "NULL"
    facts = _order_facts(analytics, periods, slice_by, model)
    events = _event_facts(analytics, periods, slice_by)
    weighted = "gmv * weight"
    sql = f"""
        WITH facts AS MATERIALIZED (
            SELECT *, {bucket} AS bucket FROM ({facts})
        ),
        per_customer AS (
            SELECT period_index, bucket, slice_value, customer_id,
                   sum({weighted}) AS gmv, sum(paid_amount * weight) AS paid_amount,
                   sum(refunded_amount * weight) AS refunded_amount,
                   sum(weight) AS orders, count(*) AS order_rows,
                   sum(units * weight) AS units,
                   COALESCE(sum({weighted}) FILTER (WHERE is_member), 0) AS member_gmv,
                   COALESCE(sum(weight) FILTER (WHERE refunded_amount > 0), 0)
                       AS refunded_orders,
                   bool_or(is_new) AS is_new
            FROM facts GROUP BY ALL
        ),
        order_totals AS (
            SELECT period_index, bucket, slice_value, sum(gmv) AS gmv,
                   sum(paid_amount) AS paid_amount, sum(refunded_amount) AS refunded_amount,
                   sum(orders) AS orders, count(*) AS buyers,
                   count(*) FILTER (WHERE order_rows >= 2) AS repeat_buyers,
                   sum(units) AS units, count(*) FILTER (WHERE is_new) AS new_customers,
                   COALESCE(sum(gmv) FILTER (WHERE is_new), 0) AS new_customer_gmv,
                   COALESCE(sum(orders) FILTER (WHERE is_new), 0) AS new_customer_orders,
                   count(*) FILTER (WHERE NOT is_new) AS returning_customers,
                   COALESCE(sum(gmv) FILTER (WHERE NOT is_new), 0) AS returning_customer_gmv,
                   COALESCE(sum(orders) FILTER (WHERE NOT is_new), 0)
                       AS returning_customer_orders,
                   sum(member_gmv) AS member_gmv, sum(refunded_orders) AS refunded_orders
            FROM per_customer GROUP BY ALL
        ),
        visitor_totals AS (
            SELECT period_index, {bucket} AS bucket, slice_value,
                   count(DISTINCT customer_id) AS visitors
            FROM (
                SELECT period_index, customer_id, local_day, slice_value FROM ({events})
                UNION ALL
                SELECT period_index, customer_id, local_day, slice_value FROM facts
            ) GROUP BY ALL
        )
        SELECT v.period_index AS period_index, v.bucket AS bucket,
               v.slice_value AS slice_value, v.visitors,
               o.* EXCLUDE (period_index, bucket, slice_value)
        FROM visitor_totals v LEFT JOIN order_totals o
          ON o.period_index = v.period_index AND o.bucket IS NOT DISTINCT FROM v.bucket
         AND o.slice_value IS NOT DISTINCT FROM v.slice_value"""
    results = {}
    for row in analytics.rows(sql):
        key = (int(row.pop("period_index")), row.pop("bucket"), row.pop("slice_value"))
        results[key] = {name: _number(value) for name, value in row.items()}
    return results


def _number(value: Any) -> int | float:
    """Integers stay integers (fen, counts); attribution weights make floats, which are
    rounded to whole fen / 6 decimals so the JSON is stable."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    number = float(value)
    return int(number) if number.is_integer() else round(number, 6)


def summary(analytics: Analytics, period: Period) -> dict[str, int | float | None]:
    """Every metric over the whole period."""
    return summaries(analytics, [period])[0]


def summaries(
    analytics: Analytics, periods: Sequence[Period]
) -> list[dict[str, int | float | None]]:
    """``summary`` of several periods in one statement (a comparison's two periods)."""
    rows = aggregate(
        analytics, periods, grain=None, slice_by=None, model=AttributionModel.LAST_TOUCH
    )
    return [derive(rows.get((index, None, None), {})) for index in range(len(periods))]


def by_slice(
    analytics: Analytics,
    period: Period,
    slice_by: SliceBy,
    *,
    model: AttributionModel = AttributionModel.LAST_TOUCH,
) -> list[dict[str, Any]]:
    """Every metric per value of ``slice_by``, largest GMV first; each row also has
    ``slice`` (the value as text, None for none) and ``label``."""
    return by_slices(analytics, [period], slice_by, model=model)[0]


def by_slices(
    analytics: Analytics,
    periods: Sequence[Period],
    slice_by: SliceBy,
    *,
    model: AttributionModel = AttributionModel.LAST_TOUCH,
) -> list[list[dict[str, Any]]]:
    """``by_slice`` of several periods in one statement."""
    rows = aggregate(analytics, periods, grain=None, slice_by=slice_by, model=model)
    labels = slice_labels(analytics, slice_by, {value for _, _, value in rows})
    results = []
    for index in range(len(periods)):
        result = [
            {"slice": value, "label": labels[value], **derive(base)}
            for (period_index, _, value), base in rows.items()
            if period_index == index
        ]
        result.sort(key=lambda row: (-(row["gmv"] or 0), row["slice"] is None, str(row["slice"])))
        results.append(result)
    return results


def series(
    analytics: Analytics,
    period: Period,
    grain: Grain,
    slice_by: SliceBy | None = None,
    *,
    model: AttributionModel = AttributionModel.LAST_TOUCH,
) -> list[dict[str, Any]]:
    """Every metric per grain bucket (first day of the bucket as ``bucket``), every
    bucket of the period present (zeros where nothing happened); with a slice, one row
    per (bucket, slice value) for every value seen in the period."""
    rows = {
        (bucket, value): row
        for (_, bucket, value), row in aggregate(
            analytics, [period], grain=grain, slice_by=slice_by, model=model
        ).items()
    }
    if slice_by is None:
        return [
            {"bucket": day, **derive(rows.get((day, None), {}))} for day in buckets(period, grain)
        ]
    values = {value for _, value in rows}
    labels = slice_labels(analytics, slice_by, values)
    ordered = sorted(values, key=lambda value: (value is None, str(value)))
    return [
        {
            "bucket": day,
            "slice": value,
            "label": labels[value],
            **derive(rows.get((day, value), {})),
        }
        for day in buckets(period, grain)
        for value in ordered
    ]
