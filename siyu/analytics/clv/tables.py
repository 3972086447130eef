"""The CLV overview as report tables (CSV/XLSX downloads, console tables).

Tables: ``fits`` (recent fits), ``value_distribution``, ``alive_distribution``,
``top_customers`` and ``holdout`` (per calibration frequency, actual vs predicted
holdout purchases of the latest count fit, when it had a holdout).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from siyu.analytics.clv.overview import ClvOverview, HistogramBar
from siyu.analytics.report import ColumnKind, ReportColumn, ReportTable

Translate = Callable[..., str]
TABLES = ("fits", "value_distribution", "alive_distribution", "top_customers", "holdout")


def _column(t: Translate, key: str, kind: ColumnKind = ColumnKind.TEXT) -> ReportColumn:
    return ReportColumn(key, t(f"clv.column.{key}"), kind)


def _histogram(t: Translate, name: str, bars: list[HistogramBar]) -> ReportTable:
    return ReportTable(
        name,
        [_column(t, "bucket"), _column(t, "customers", ColumnKind.INTEGER)],
        [{"bucket": bar.label, "customers": bar.customers} for bar in bars],
    )


def _params_text(params: dict[str, Any]) -> str:
    return json.dumps({key: round(float(value), 4) for key, value in params.items()})


def report_tables(result: ClvOverview, t: Translate) -> list[ReportTable]:
    fits = ReportTable(
        "fits",
        [
            _column(t, "fit_id", ColumnKind.INTEGER),
            _column(t, "model"),
            _column(t, "fitted_at"),
            _column(t, "customers", ColumnKind.INTEGER),
            _column(t, "log_likelihood", ColumnKind.NUMBER),
            _column(t, "params"),
            _column(t, "seconds", ColumnKind.NUMBER),
        ],
        [
            {
                "fit_id": fit.id,
                "model": fit.model,
                "fitted_at": fit.fitted_at.isoformat(timespec="seconds"),
                "customers": fit.customers,
                "log_likelihood": fit.log_likelihood,
                "params": _params_text(fit.params),
                "seconds": fit.seconds,
            }
            for fit in result.recent_fits
        ],
    )
    top = ReportTable(
        "top_customers",
        [
            _column(t, "customer_id", ColumnKind.INTEGER),
            _column(t, "probability_alive", ColumnKind.RATIO),
            _column(t, "expected_purchases_365d", ColumnKind.NUMBER),
            _column(t, "expected_order_value", ColumnKind.MONEY),
            _column(t, "expected_value_365d", ColumnKind.MONEY),
        ],
        result.top_customers,
    )
    quality = result.count_fit.quality if result.count_fit else {}
    holdout = ReportTable(
        "holdout",
        [
            _column(t, "frequency"),
            _column(t, "customers", ColumnKind.INTEGER),
            _column(t, "actual_mean", ColumnKind.NUMBER),
            _column(t, "predicted_mean", ColumnKind.NUMBER),
        ],
        list(quality.get("buckets", [])),
    )
    return [
        fits,
        _histogram(t, "value_distribution", result.value_histogram),
        _histogram(t, "alive_distribution", result.alive_histogram),
        top,
        holdout,
    ]
