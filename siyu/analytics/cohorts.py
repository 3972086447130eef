"""Cohorts: retention, repurchase and cumulative GMV per customer (LTV curves).

A cohort is the customers whose first paid order (brand-wide, as ``a_firsts`` defines it)
is one of the caller's scope's orders and was paid on a local day of the period, grouped

- ``by="month"``: by the calendar month of that first order, or
- ``by="channel"``: by the source group of the first order's channel code
  (``a_channel_codes.source_group``; ``direct`` without one).

Month offset k of an order = its local calendar month minus the month of the
customer's first order (0 = the month of the first order). Orders after the period
count too: the cohort is followed up to today. For offset k a customer is *observed*
when their first month + k is not after the current month (brand time zone); every
value at k is over the observed customers of the cohort (``None`` when there are
none), which for a month cohort means "all or nothing" and for a channel cohort
keeps late joiners from diluting later months:

- retention(k): observed customers with a paid order in offset k / observed;
- repurchase(k): observed customers whose second paid order came by offset k / observed;
- ltv(k): GMV (docs/metrics.md) of observed customers' orders up to offset k /
  observed, in fen rounded half up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siyu.analytics.connection import ORDER_PARTITION_SLACK_DAYS, UNKNOWN_GROUP, Analytics
from siyu.analytics.errors import InvalidAnalyticsRequest, InvalidSlice
from siyu.analytics.period import Period
from siyu.analytics.report import ColumnKind, ReportColumn, ReportTable
from siyu.analytics.traffic import (
    Translate,
    first_orders_sql,
    paid_orders_sql,
    since_sql,
)

COHORT_KINDS = ("month", "channel")
MEASURES = ("retention", "repurchase", "ltv")
# Three years of months after the first order is as far as a curve is drawn.
MAX_OFFSET = 36
# Without dates, cohorts of the year ending yesterday: a month view needs months.
DEFAULT_PERIOD_DAYS = 365


@dataclass(frozen=True)
class CohortRow:
    key: str  # "2026-09" or a source group
    customers: int
    retention: list[float | None]
    repurchase: list[float | None]
    ltv: list[int | None]  # fen per customer


@dataclass
class CohortTable:
    period: Period
    by: str
    measure: str
    offsets: list[int] = field(default_factory=list)
    cohorts: list[CohortRow] = field(default_factory=list)


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _round_half_up(total: int, count: int) -> int:
    # Non-negative totals (GMV never goes below zero per order): integer half-up.
    return (2 * total + count) // (2 * count)


def cohort_table(
    analytics: Analytics, period: Period, *, by: str = "month", measure: str = "retention"
) -> CohortTable:
    """Per cohort and month offset: retention, repurchase and cumulative GMV/customer."""
    if by not in COHORT_KINDS:
        raise InvalidSlice("Cohorts are by month or by channel.", data={"by": by})
    if measure not in MEASURES:
        raise InvalidAnalyticsRequest(
            "Unknown cohort measure.", data={"measure": measure, "allowed": list(MEASURES)}
        )
    in_period = period.where(
        "o.paid_at", analytics.timezone, partition_slack_days=ORDER_PARTITION_SLACK_DAYS
    )
    since = since_sql("o.paid_at", analytics, period, slack_days=ORDER_PARTITION_SLACK_DAYS)
    local_day = analytics.local_day("o.paid_at")
    month = f"(year({local_day}) * 12 + month({local_day}) - 1)"
    if by == "month":
        key = f"strftime({local_day}, '%Y-%m')"
    else:
        key = f"COALESCE(cc.source_group, '{UNKNOWN_GROUP}')"
    # A cohort member's first paid order (brand-wide) is one of the scope's orders in
    # the period: first orders are computed for the period's buyers only.
    head = f"""WITH entering AS ({paid_orders_sql(analytics, in_period)}),
        cohort AS (
            SELECT o.customer_id, {key} AS cohort_key, {month} AS first_month
            FROM entering o
            JOIN ({first_orders_sql("SELECT customer_id FROM entering")}) f
              ON f.first_order_id = o.order_id
            LEFT JOIN a_channel_codes cc ON cc.channel_code_id = o.channel_code_id),
        bought AS (
            SELECT c.cohort_key, c.first_month, o.customer_id, o.paid_at, o.order_id, o.gmv,
                   {month} - c.first_month AS month_offset
            FROM ({paid_orders_sql(analytics, since)}) o
            JOIN cohort c ON c.customer_id = o.customer_id)"""
    # The cohort's orders are read once into a temporary table; three small
    # aggregates then run over it instead of re-reading the orders each time.
    analytics.con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cohort_orders AS {head} SELECT * FROM bought"
    )
    try:
        sizes = analytics.rows(
            "SELECT cohort_key, first_month, count(DISTINCT customer_id) AS customers "
            "FROM _cohort_orders GROUP BY 1, 2"
        )
        months = analytics.rows(
            """SELECT cohort_key, first_month, month_offset,
                   count(DISTINCT customer_id) AS buyers, sum(gmv) AS gmv
               FROM _cohort_orders GROUP BY 1, 2, 3"""
        )
        seconds = analytics.rows(
            """SELECT cohort_key, first_month, month_offset, count(*) AS repeaters FROM (
                   SELECT cohort_key, first_month, month_offset FROM _cohort_orders
                   QUALIFY row_number() OVER (
                       PARTITION BY customer_id ORDER BY paid_at, order_id) = 2
               ) GROUP BY 1, 2, 3"""
        )
    finally:
        analytics.con.execute("DROP TABLE IF EXISTS _cohort_orders")
    current = _month_index(analytics.today.year, analytics.today.month)
    result = CohortTable(period=period, by=by, measure=measure)
    if not sizes:
        return result
    span = min(MAX_OFFSET, current - min(row["first_month"] for row in sizes))
    result.offsets = list(range(span + 1))

    size_of: dict[str, dict[int, int]] = {}
    for row in sizes:
        size_of.setdefault(row["cohort_key"], {})[row["first_month"]] = row["customers"]
    buyers: dict[tuple[str, int, int], int] = {}
    gmv: dict[tuple[str, int, int], int] = {}
    for row in months:
        cell = (row["cohort_key"], row["first_month"], row["month_offset"])
        buyers[cell] = row["buyers"]
        gmv[cell] = int(row["gmv"])
    repeaters = {
        (row["cohort_key"], row["first_month"], row["month_offset"]): row["repeaters"]
        for row in seconds
    }
    for cohort_key in sorted(size_of, key=lambda name: (-sum(size_of[name].values()), name)):
        firsts = size_of[cohort_key]
        retention: list[float | None] = []
        repurchase: list[float | None] = []
        ltv: list[int | None] = []
        for offset in result.offsets:
            observed = [first for first in firsts if first + offset <= current]
            count = sum(firsts[first] for first in observed)
            if not count:
                retention.append(None)
                repurchase.append(None)
                ltv.append(None)
                continue
            active = sum(buyers.get((cohort_key, first, offset), 0) for first in observed)
            repeated = sum(
                repeaters.get((cohort_key, first, earlier), 0)
                for first in observed
                for earlier in range(offset + 1)
            )
            spent = sum(
                gmv.get((cohort_key, first, earlier), 0)
                for first in observed
                for earlier in range(offset + 1)
            )
            retention.append(active / count)
            repurchase.append(repeated / count)
            ltv.append(_round_half_up(spent, count))
        result.cohorts.append(
            CohortRow(cohort_key, sum(firsts.values()), retention, repurchase, ltv)
        )
    if by == "month":
        result.cohorts.sort(key=lambda row: row.key)
    return result


# Labels and tables -------------------------------------------------------------------


def cohort_label(t: Translate, table: CohortTable, key: str) -> str:
    return key if table.by == "month" else t(f"analytics_behaviour.source.{key}")


def cohort_tables(table: CohortTable, t: Translate) -> list[ReportTable]:
    """One table per measure, the chosen measure first (the default download)."""
    kinds = {"retention": ColumnKind.RATIO, "repurchase": ColumnKind.RATIO, "ltv": ColumnKind.MONEY}
    ordered = [table.measure, *(name for name in MEASURES if name != table.measure)]
    tables = []
    for measure in ordered:
        columns = [
            ReportColumn("cohort", t(f"analytics_behaviour.cohorts.by.{table.by}")),
            ReportColumn(
                "customers", t("analytics_behaviour.column.customers"), ColumnKind.INTEGER
            ),
        ]
        columns += [
            ReportColumn(
                f"m{offset}", t("analytics_behaviour.cohorts.offset", month=offset), kinds[measure]
            )
            for offset in table.offsets
        ]
        rows = []
        for cohort in table.cohorts:
            values = getattr(cohort, measure)
            row: dict[str, object] = {
                "cohort": cohort_label(t, table, cohort.key),
                "customers": cohort.customers,
            }
            row.update({f"m{offset}": values[offset] for offset in table.offsets})
            rows.append(row)
        tables.append(ReportTable(f"cohort_{measure}", columns, rows))
    return tables
