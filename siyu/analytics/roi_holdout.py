"""The holdout comparison of a campaign: treatment vs holdout GMV per customer during
the campaign, the incremental GMV per targeted customer and its 95 % confidence
interval (docs/analytics-campaigns.md).

- Eligible: live customers (merged ones are gone, their orders are their survivor's)
  created before the campaign ended, within the caller's data scope.
- Holdout: the eligible customers ``in_holdout`` puts aside — the same sha256 bucket
  of ``"<public_id>:<customer_id>"`` computed here in DuckDB (first 4 bytes, big
  endian, mod 100 < holdout_percent). A merge keeps the survivor's id, so the
  survivor's bucket decides for the merged orders too.
- Targeted: the other eligible customers.
- Outcome: each customer's GMV (paid − refunded, any attribution) paid during the
  campaign's live window [starts_at, ends_at); customers who bought nothing count 0.
- Incremental GMV per targeted customer = treatment mean − holdout mean, with a
  Welch t interval (unequal variances, Welch–Satterthwaite degrees of freedom);
  the total is that × the targeted count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from scipy import stats

from siyu.analytics.connection import (
    GMV_SQL,
    ORDER_PARTITION_SLACK_DAYS,
    Analytics,
    customer_scope_sql,
    order_scope_sql,
)

CONFIDENCE = 0.95


@dataclass(frozen=True)
class HoldoutComparison:
    holdout_percent: int
    treatment_customers: int
    holdout_customers: int
    treatment_gmv_per_customer: float  # fen
    holdout_gmv_per_customer: float
    incremental_gmv_per_customer: float
    confidence_low: float | None  # None: a group too small to estimate its variance
    confidence_high: float | None
    degrees_of_freedom: float | None
    incremental_gmv: float  # per targeted customer × targeted customers


def welch_interval(
    treatment: tuple[int, float, float], holdout: tuple[int, float, float]
) -> tuple[float, float, float] | None:
    """(low, high, degrees of freedom) of the difference of means; each group is
    (count, mean, sample variance). None below two customers in a group."""
    (n1, mean1, var1), (n2, mean2, var2) = treatment, holdout
    if n1 < 2 or n2 < 2:
        return None
    difference = mean1 - mean2
    part1, part2 = var1 / n1, var2 / n2
    error = math.sqrt(part1 + part2)
    if error == 0:
        return difference, difference, float(n1 + n2 - 2)
    freedom = (part1 + part2) ** 2 / (part1**2 / (n1 - 1) + part2**2 / (n2 - 1))
    critical = float(stats.t.ppf(0.5 + CONFIDENCE / 2, freedom))
    return difference - critical * error, difference + critical * error, freedom


def bucket_sql(customer_column: str) -> str:
    """SQL of the 0..99 holdout bucket of ``customer_column``; its one parameter is the
    campaign's public id. The twin of ``siyu.campaigns.registry.service.in_holdout``."""
    return (
        "(CAST('0x' || substr(sha256(? || ':' || CAST("
        f"{customer_column} AS VARCHAR)), 1, 8) AS UBIGINT) % 100)"
    )


def _eligible_sql(analytics: Analytics) -> str:
    """Eligible customers with their bucket; parameters: public id, percent, ends_at."""
    return (
        f"SELECT c.customer_id, {bucket_sql('c.customer_id')} < ? AS in_holdout "
        "FROM live_customers c WHERE c.created_at < ? AND "
        f"{customer_scope_sql(analytics.scope, 'c')}"
    )


def _paid_in_scope(analytics: Analytics) -> str:
    """Paid orders in the caller's scope: ``a_orders``' rows, read straight from
    ``orders`` (the per-customer facts ``a_orders`` joins are not needed here)."""
    return f"o.paid_at IS NOT NULL AND {order_scope_sql(analytics.scope)}"


def _window(campaign: dict[str, Any]) -> tuple[str, list[Any]]:
    starts, ends = campaign["starts_at"], campaign["ends_at"]
    low = starts.date() - timedelta(days=ORDER_PARTITION_SLACK_DAYS)
    return (
        "o.paid_at >= ? AND o.paid_at < ? AND o.day BETWEEN ? AND ?",
        [starts, ends, low, ends.date()],
    )


def _eligible_parameters(campaign: dict[str, Any]) -> list[Any]:
    return [campaign["public_id"], int(campaign["holdout_percent"]), campaign["ends_at"]]


def holdout_comparison(analytics: Analytics, campaign: dict[str, Any]) -> HoldoutComparison | None:
    """The comparison of an ``a_campaigns`` row; None when it had no holdout."""
    if int(campaign["holdout_percent"]) <= 0:
        return None
    window, window_parameters = _window(campaign)
    rows = analytics.rows(
        f"""
        WITH eligible AS ({_eligible_sql(analytics)}),
        spend AS (
            SELECT o.customer_id, sum({GMV_SQL}) AS gmv FROM orders o
            WHERE {_paid_in_scope(analytics)} AND {window} GROUP BY o.customer_id
        )
        SELECT e.in_holdout, count(*) AS customers, avg(COALESCE(s.gmv, 0)) AS mean,
               COALESCE(var_samp(COALESCE(s.gmv, 0)), 0) AS variance
        FROM eligible e LEFT JOIN spend s ON s.customer_id = e.customer_id
        GROUP BY e.in_holdout
        """,
        [*_eligible_parameters(campaign), *window_parameters],
    )
    groups = {
        bool(row["in_holdout"]): (int(row["customers"]), float(row["mean"]), float(row["variance"]))
        for row in rows
    }
    treatment = groups.get(False, (0, 0.0, 0.0))
    holdout = groups.get(True, (0, 0.0, 0.0))
    difference = treatment[1] - holdout[1] if treatment[0] and holdout[0] else 0.0
    interval = welch_interval(treatment, holdout)
    return HoldoutComparison(
        holdout_percent=int(campaign["holdout_percent"]),
        treatment_customers=treatment[0],
        holdout_customers=holdout[0],
        treatment_gmv_per_customer=treatment[1],
        holdout_gmv_per_customer=holdout[1],
        incremental_gmv_per_customer=difference,
        confidence_low=interval[0] if interval else None,
        confidence_high=interval[1] if interval else None,
        degrees_of_freedom=interval[2] if interval else None,
        incremental_gmv=difference * treatment[0],
    )


def daily_by_group(analytics: Analytics, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    """GMV per customer of each local day of the campaign, treatment and holdout (every
    eligible customer is treatment when there is no holdout)."""
    window, window_parameters = _window(campaign)
    rows = analytics.rows(
        f"""
        WITH eligible AS ({_eligible_sql(analytics)}),
        sizes AS (SELECT in_holdout, count(*) AS customers FROM eligible GROUP BY in_holdout)
        SELECT {analytics.local_day("o.paid_at")} AS day, e.in_holdout,
               sum({GMV_SQL}) AS gmv, any_value(z.customers) AS size
        FROM orders o JOIN eligible e ON e.customer_id = o.customer_id
        JOIN sizes z ON z.in_holdout = e.in_holdout
        WHERE {_paid_in_scope(analytics)} AND {window} GROUP BY ALL
        """,
        [*_eligible_parameters(campaign), *window_parameters],
    )
    per_day: dict[Any, dict[str, Any]] = {}
    first = analytics.rows(
        f"SELECT {analytics.local_day('CAST(? AS TIMESTAMP)')} AS a, "
        f"{analytics.local_day('CAST(? AS TIMESTAMP) - INTERVAL 1 MICROSECOND')} AS b",
        [campaign["starts_at"], campaign["ends_at"]],
    )[0]
    day = first["a"]
    while day <= first["b"]:
        per_day[day] = {"day": day, "treatment": 0.0, "holdout": 0.0}
        day += timedelta(days=1)
    for row in rows:
        entry = per_day.setdefault(
            row["day"], {"day": row["day"], "treatment": 0.0, "holdout": 0.0}
        )
        key = "holdout" if row["in_holdout"] else "treatment"
        entry[key] = float(row["gmv"]) / int(row["size"])
    return [per_day[key] for key in sorted(per_day)]
