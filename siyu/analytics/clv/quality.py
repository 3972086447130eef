"""Calibration/holdout prediction quality of a purchase-count fit.

The model is fitted on the calibration period; for each customer it predicts the
repeat purchases of the holdout period (the same length after it), which are then
counted. Reported as in Fader, Hardie & Lee (2005, fig. 4): per calibration
frequency 0..7+, the mean actual and predicted holdout purchases, plus totals, the
total error in percent and the mean absolute error per customer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from siyu.analytics.clv.fitting import FloatArray
from siyu.analytics.clv.summary import CustomerSummary

TOP_BUCKET = 7  # "7+"


def holdout_quality(
    summary: CustomerSummary, predicted: FloatArray, actual: FloatArray, *, horizon: float
) -> dict[str, Any]:
    """``predicted``/``actual``: holdout purchases per customer of ``summary``."""
    buckets: list[dict[str, Any]] = []
    bucket_of = np.minimum(summary.frequency, TOP_BUCKET).astype(np.int64)
    for bucket in range(TOP_BUCKET + 1):
        members = bucket_of == bucket
        count = int(members.sum())
        buckets.append(
            {
                "frequency": f"{bucket}+" if bucket == TOP_BUCKET else str(bucket),
                "customers": count,
                "actual_mean": float(actual[members].mean()) if count else 0.0,
                "predicted_mean": float(predicted[members].mean()) if count else 0.0,
            }
        )
    total_actual = float(actual.sum())
    total_predicted = float(predicted.sum())
    return {
        "holdout_length": horizon,
        "customers": len(summary),
        "total_actual": total_actual,
        "total_predicted": total_predicted,
        "total_error_percent": (
            (total_predicted - total_actual) / total_actual * 100 if total_actual else 0.0
        ),
        "mean_absolute_error": float(np.abs(predicted - actual).mean()) if len(actual) else 0.0,
        "bucket_mean_absolute_error": float(
            np.mean(
                [abs(b["predicted_mean"] - b["actual_mean"]) for b in buckets if b["customers"]]
            )
        )
        if len(actual)
        else 0.0,
        "buckets": buckets,
    }
