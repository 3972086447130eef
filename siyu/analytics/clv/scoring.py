"""Per-customer CLV from fitted parameters, and its write-back to ``customer_value``.

Expected value over a horizon = expected purchases (count model) × expected order
value (Gamma-Gamma), plain and undiscounted: a 365-day horizon is short enough that
discounting moves it little, and an undiscounted figure is the one operators can
check against next year's sales. The table is replaced in one transaction (delete,
then bulk insert), so readers see either the previous run or this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.analytics.clv.fitting import ClvFitFailed, FloatArray
from siyu.analytics.clv.gamma_gamma import expected_order_value
from siyu.analytics.clv.models import COUNT_MODELS, CountModel
from siyu.analytics.clv.summary import CustomerSummary, IntArray
from siyu.core.bulk_insert import insert_many
from siyu.core.db import driver_rows
from siyu.models.analytics import CustomerValue
from siyu.models.customer import Customer

HORIZONS_DAYS = (90, 365)


@dataclass(frozen=True)
class Scores:
    customer_ids: IntArray
    probability_alive: FloatArray
    expected_purchases_90d: FloatArray
    expected_purchases_365d: FloatArray
    expected_order_value: IntArray  # fen
    expected_value_90d: IntArray
    expected_value_365d: IntArray

    def __len__(self) -> int:
        return len(self.customer_ids)


def score(
    summary: CustomerSummary,
    *,
    model: CountModel,
    count_params: dict[str, float],
    spend_params: dict[str, float] | None,
) -> Scores:
    functions = COUNT_MODELS[model]
    unit_days = summary.time_unit.days
    purchases = {
        days: np.maximum(functions.expected_purchases(count_params, summary, days / unit_days), 0.0)
        for days in HORIZONS_DAYS
    }
    if spend_params is None:
        order_value = np.zeros(len(summary))
    else:
        order_value = np.maximum(expected_order_value(spend_params, summary), 0.0)
    alive = functions.probability_alive(count_params, summary)
    if not all(np.isfinite(values).all() for values in (alive, order_value, *purchases.values())):
        # Never store a NaN: a fit this degenerate is reported, not written.
        raise ClvFitFailed("the fitted model gives no finite prediction for some customers")
    return Scores(
        customer_ids=summary.customer_ids,
        probability_alive=np.clip(alive, 0.0, 1.0),
        expected_purchases_90d=purchases[90],
        expected_purchases_365d=purchases[365],
        expected_order_value=np.rint(order_value).astype(np.int64),
        expected_value_90d=np.rint(purchases[90] * order_value).astype(np.int64),
        expected_value_365d=np.rint(purchases[365] * order_value).astype(np.int64),
    )


def write_scores(
    session: Session,
    scores: Scores,
    *,
    fit_id: int,
    spend_fit_id: int | None,
    computed_at: datetime,
) -> int:
    """Replace every ``customer_value`` row; customers the OLTP database no longer has
    (erased after the warehouse export) are skipped. Returns the rows written."""
    existing = np.fromiter(
        (row[0] for row in driver_rows(session, select(Customer.id))), dtype=np.int64
    )
    keep = np.isin(scores.customer_ids, existing)
    session.execute(delete(CustomerValue))
    columns = (
        "customer_id",
        "probability_alive",
        "expected_purchases_90d",
        "expected_purchases_365d",
        "expected_order_value",
        "expected_value_90d",
        "expected_value_365d",
    )
    rows = zip(
        scores.customer_ids[keep].tolist(),
        scores.probability_alive[keep].tolist(),
        scores.expected_purchases_90d[keep].tolist(),
        scores.expected_purchases_365d[keep].tolist(),
        scores.expected_order_value[keep].tolist(),
        scores.expected_value_90d[keep].tolist(),
        scores.expected_value_365d[keep].tolist(),
        strict=True,
    )
    return insert_many(
        session,
        CustomerValue.__table__,  # type: ignore[arg-type]
        columns,
        rows,
        constants={"fit_id": fit_id, "spend_fit_id": spend_fit_id, "computed_at": computed_at},
    )
