"""Straightforward pandas versions of the driver tree and the cohort table.

For ``bench/analytics.py``'s ratio: the same figures the DuckDB services compute,
read from the same Parquet files with pyarrow (partition pruning on ``day`` as
DuckDB gets it) and computed with pandas the way an analyst would write it.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds

from siyu.analytics.period import Period
from siyu.warehouse import state

SHANGHAI_OFFSET = pd.Timedelta(hours=8)  # Asia/Shanghai has no DST


def _dataset(root: Path, table: str) -> ds.Dataset:
    manifest = state.load(root)
    files = [str(root / entry.path) for entry in manifest.table(table).files]
    return ds.dataset(files, format="parquet", partitioning="hive")


def _read(
    root: Path, table: str, columns: list[str], first_day: Any = None, last_day: Any = None
) -> pd.DataFrame:
    dataset = _dataset(root, table)
    expression = None
    if first_day is not None:
        # Partition values are the file's `day`: filter on the file paths' day.
        fragments = [
            fragment.path
            for fragment in dataset.get_fragments()
            if first_day.isoformat() <= fragment.path.split("day=")[1][:10] <= last_day.isoformat()
        ]
        dataset = ds.dataset(fragments, format="parquet")
    return dataset.to_table(columns=columns, filter=expression).to_pandas()


def _period_figures(root: Path, period: Period) -> dict[str, float]:
    start = period.start
    orders = _read(
        root,
        "orders",
        ["customer_id", "paid_at", "paid_amount", "refunded_amount"],
        start - timedelta(days=2),
        period.end,
    )
    orders = orders[orders["paid_at"].notna()]
    local_day = (orders["paid_at"] + SHANGHAI_OFFSET).dt.date
    orders = orders[(local_day >= period.start) & (local_day <= period.end)]
    events = _read(
        root, "events", ["customer_id", "occurred_at"], start - timedelta(days=1), period.end
    )
    events_day = (events["occurred_at"] + SHANGHAI_OFFSET).dt.date
    events = events[(events_day >= period.start) & (events_day <= period.end)]
    gmv = float((orders["paid_amount"] - orders["refunded_amount"]).sum())
    buyers = orders["customer_id"].nunique()
    visitors = events["customer_id"].dropna().nunique()
    count = len(orders)
    return {
        "gmv": gmv,
        "visitors": float(visitors),
        "conversion": buyers / visitors if visitors else 0.0,
        "frequency": count / buyers if buyers else 0.0,
        "aov": gmv / count if count else 0.0,
    }


def _log_mean(a: float, b: float) -> float:
    if a <= 0 or b <= 0:
        return 0.0
    return a if a == b else (a - b) / (math.log(a) - math.log(b))


def driver_tree(root: Path, current: Period, base: Period, _timezone: str) -> dict[str, float]:
    """GMV = visitors × conversion × frequency × AOV; LMDI contribution per factor."""
    now, then = _period_figures(root, current), _period_figures(root, base)
    weight = _log_mean(now["gmv"], then["gmv"])
    contributions = {}
    for factor in ("visitors", "conversion", "frequency", "aov"):
        ratio = now[factor] / then[factor] if then[factor] and now[factor] else 1.0
        contributions[factor] = weight * math.log(ratio)
    return contributions


def cohorts(root: Path, current: Period, _base: Period, _timezone: str) -> pd.DataFrame:
    """Customers by first-order month (those in the period) × months since: active
    customers, retention and cumulative GMV per customer."""
    orders = _read(root, "orders", ["customer_id", "paid_at", "paid_amount", "refunded_amount"])
    orders = orders[orders["paid_at"].notna()].copy()
    local = orders["paid_at"] + SHANGHAI_OFFSET
    orders["month"] = local.dt.year * 12 + local.dt.month - 1
    orders["gmv"] = orders["paid_amount"] - orders["refunded_amount"]
    first = orders.groupby("customer_id")["month"].min().rename("cohort")
    orders = orders.join(first, on="customer_id")
    first_month = current.start.year * 12 + current.start.month - 1
    last_month = current.end.year * 12 + current.end.month - 1
    orders = orders[(orders["cohort"] >= first_month) & (orders["cohort"] <= last_month)]
    orders["offset"] = orders["month"] - orders["cohort"]
    sizes = orders.groupby("cohort")["customer_id"].nunique().rename("size")
    table = (
        orders.groupby(["cohort", "offset"])
        .agg(active=("customer_id", "nunique"), gmv=("gmv", "sum"))
        .reset_index()
        .join(sizes, on="cohort")
    )
    table["retention"] = table["active"] / table["size"]
    table["cumulative_gmv"] = table.groupby("cohort")["gmv"].cumsum() / table["size"]
    return table
