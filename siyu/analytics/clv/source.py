"""The brand's own purchases, summarised in the warehouse (DuckDB).

A purchase is a paid order that was not refunded in full; its value is its GMV
(paid − refunded, fen, ``GMV_SQL``) and its day the brand-local day of payment.
Orders of one customer on one day are one purchase (the repeat-purchase convention
of ``summary.py``). Every paid order counts, whatever store or guide it is credited
to: the model describes the brand's customers as a whole (scores are then shown to
each member of staff only for the customers they may see).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from siyu.analytics.clv.summary import CustomerSummary, TimeUnit
from siyu.analytics.connection import GMV_SQL, Analytics

GMV = GMV_SQL


def _purchase_days(analytics: Analytics, until: date) -> str:
    local_day = analytics.local_day("o.paid_at")
    return f"""
        SELECT o.customer_id, {local_day} AS day, SUM({GMV}) AS amount
        FROM orders o
        WHERE o.paid_at IS NOT NULL AND o.customer_id IS NOT NULL AND {GMV} > 0
          AND {local_day} <= DATE '{until.isoformat()}'
        GROUP BY 1, 2"""


def warehouse_summary(analytics: Analytics, *, until: date, time_unit: TimeUnit) -> CustomerSummary:
    """Frequency / recency / T / mean repeat value (fen) per customer, up to ``until``."""
    unit = float(time_unit.days)
    table = analytics.con.sql(
        f"""
        WITH days AS ({_purchase_days(analytics, until)})
        SELECT customer_id,
               COUNT(*) - 1 AS frequency,
               DATE_DIFF('day', MIN(day), MAX(day)) AS recency_days,
               DATE_DIFF('day', MIN(day), DATE '{until.isoformat()}') AS age_days,
               (SUM(amount) - ARG_MIN(amount, day)) AS repeat_total
        FROM days GROUP BY customer_id ORDER BY customer_id"""
    ).to_arrow_table()
    frequency = table["frequency"].to_numpy().astype(np.float64)
    repeat_total = table["repeat_total"].to_numpy().astype(np.float64)
    return CustomerSummary(
        customer_ids=table["customer_id"].to_numpy().astype(np.int64),
        frequency=frequency,
        recency=table["recency_days"].to_numpy().astype(np.float64) / unit,
        age=table["age_days"].to_numpy().astype(np.float64) / unit,
        monetary=np.divide(
            repeat_total, frequency, out=np.zeros(len(frequency)), where=frequency > 0
        ),
        time_unit=time_unit,
    )


def holdout_purchases(
    analytics: Analytics, customer_ids: np.ndarray, *, after: date, until: date
) -> np.ndarray:
    """Purchase days in (after, until] for each of ``customer_ids`` (0 when none)."""
    local_day = analytics.local_day("o.paid_at")
    table = analytics.con.sql(
        f"""
        SELECT o.customer_id, COUNT(DISTINCT {local_day}) AS purchases
        FROM orders o
        WHERE o.paid_at IS NOT NULL AND o.customer_id IS NOT NULL AND {GMV} > 0
          AND {local_day} > DATE '{after.isoformat()}'
          AND {local_day} <= DATE '{until.isoformat()}'
        GROUP BY 1"""
    ).to_arrow_table()
    ids = table["customer_id"].to_numpy()
    counts = table["purchases"].to_numpy().astype(np.float64)
    positions = np.searchsorted(customer_ids, ids)
    positions = np.minimum(positions, max(len(customer_ids) - 1, 0))
    found = (len(customer_ids) > 0) & (customer_ids[positions] == ids) if len(ids) else ids > 0
    result = np.zeros(len(customer_ids))
    result[positions[found]] = counts[found]
    return result
