"""Fit the CLV models on the brand's purchases and score every customer.

``fit_and_score`` reads the purchase summary from the warehouse, fits the chosen
count model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model, records both
fits (``clv_fit``) and replaces ``customer_value``. With a calibration end before
yesterday, the days after it are a holdout: the fit is judged on them (stored in the
count fit's ``quality``) and the scores are then computed from every purchase up to
yesterday with the calibration parameters. ``fit_file`` does the same fits on a
CDNOW-format file without touching the database (to reproduce published figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from siyu.analytics.clv import gamma_gamma
from siyu.analytics.clv.fitting import ClvFitFailed, FitResult, timed
from siyu.analytics.clv.models import COUNT_MODELS, CountModel, ModelName
from siyu.analytics.clv.quality import holdout_quality
from siyu.analytics.clv.scoring import Scores, score, write_scores
from siyu.analytics.clv.source import holdout_purchases, warehouse_summary
from siyu.analytics.clv.summary import CustomerSummary, TimeUnit, read_cdnow
from siyu.analytics.connection import open_analytics
from siyu.analytics.errors import InvalidAnalyticsRequest, NotEnoughData
from siyu.core.settings import get_settings
from siyu.models.analytics import ClvFit
from siyu.staff import audit
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse

# Refitting rescores every customer of the brand, like RFM and lifecycle stages do.
FIT_PERMISSION = Permission.AUDIENCES_MANAGE
# Fewer customers than this cannot identify four parameters.
MINIMUM_CUSTOMERS = 10


class ClvDataTooSmall(NotEnoughData):
    code = "analytics.clv_not_enough_customers"
    message = "CLV needs purchases of at least 10 customers."


@dataclass(frozen=True)
class ClvRunResult:
    model: CountModel
    time_unit: TimeUnit
    calibration_end: date
    count_fit: FitResult
    spend_fit: FitResult | None
    count_fit_id: int
    spend_fit_id: int | None
    customers_scored: int
    quality: dict[str, Any]
    timings: dict[str, float]
    distribution: dict[str, Any] = field(default_factory=dict)


def parse_model(value: str) -> CountModel:
    try:
        return CountModel(value)
    except ValueError:
        raise InvalidAnalyticsRequest(
            f"unknown CLV model {value!r}; use bgnbd or pareto_nbd", data={"model": value}
        ) from None


def parse_time_unit(value: str) -> TimeUnit:
    try:
        return TimeUnit(value)
    except ValueError:
        raise InvalidAnalyticsRequest(
            f"unknown time unit {value!r}; use week or day", data={"time_unit": value}
        ) from None


def _fit_spend(summary: CustomerSummary) -> FitResult | None:
    """The spend fit, or None when too few customers bought twice (values are then 0)."""
    if int(summary.repeat_buyers.sum()) < MINIMUM_CUSTOMERS:
        return None
    try:
        return gamma_gamma.fit(summary)
    except ClvFitFailed:
        return None


def distribution(scores: Scores) -> dict[str, Any]:
    if not len(scores):
        return {"customers": 0}
    value = scores.expected_value_365d
    return {
        "customers": len(scores),
        "probability_alive_mean": float(scores.probability_alive.mean()),
        "expected_purchases_365d_total": float(scores.expected_purchases_365d.sum()),
        "expected_value_365d_total": int(value.sum()),
        "expected_value_365d_quantiles": {
            str(q): int(np.quantile(value, q)) for q in (0.25, 0.5, 0.75, 0.9, 0.99)
        },
    }


def _fit_row(
    fit: FitResult,
    *,
    time_unit: TimeUnit,
    calibration_end: date,
    quality: dict[str, Any],
    now: datetime,
    actor: str,
) -> ClvFit:
    return ClvFit(
        model=fit.model,
        params=fit.params,
        log_likelihood=fit.log_likelihood,
        customers=fit.customers,
        time_unit=time_unit.value,
        calibration_end=calibration_end,
        quality=quality | ({"extra": fit.extra} if fit.extra else {}),
        seconds=fit.seconds,
        fitted_at=now,
        fitted_by=actor,
    )


def fit_and_score(
    session: Session,
    warehouse: Warehouse,
    *,
    model: str = "bgnbd",
    now: datetime,
    calibration_end: date | None = None,
    time_unit: str = "week",
    actor: str,
    timezone: str | None = None,
) -> ClvRunResult:
    count_model, unit = parse_model(model), parse_time_unit(time_unit)
    zone = timezone or get_settings().timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    # Yesterday is the last whole day: today's purchases are still coming in.
    last_day = today - timedelta(days=1)
    end = calibration_end or last_day
    if end > last_day:
        raise InvalidAnalyticsRequest(
            "the calibration must end yesterday or earlier",
            data={"calibration_end": end.isoformat()},
        )
    timings: dict[str, float] = {}
    elapsed = timed()
    scope = DataScope(ScopeKind.ALL)
    with open_analytics(warehouse, session, scope=scope, timezone=zone, today=today) as analytics:
        calibration = warehouse_summary(analytics, until=end, time_unit=unit)
        if len(calibration) < MINIMUM_CUSTOMERS:
            raise ClvDataTooSmall(data={"customers": len(calibration)})
        timings["summary"] = elapsed()
        functions = COUNT_MODELS[count_model]
        count_fit = functions.fit(calibration)
        spend_fit = _fit_spend(calibration)
        timings["fit"] = elapsed() - timings["summary"]
        quality: dict[str, Any] = {}
        current = calibration
        if end < last_day:
            horizon = (last_day - end).days / unit.days
            actual = holdout_purchases(
                analytics, calibration.customer_ids, after=end, until=last_day
            )
            predicted = functions.expected_purchases(count_fit.params, calibration, horizon)
            quality = holdout_quality(calibration, predicted, actual, horizon=horizon)
            current = warehouse_summary(analytics, until=last_day, time_unit=unit)
    scores = score(
        current,
        model=count_model,
        count_params=count_fit.params,
        spend_params=spend_fit.params if spend_fit else None,
    )
    count_row = _fit_row(
        count_fit, time_unit=unit, calibration_end=end, quality=quality, now=now, actor=actor
    )
    session.add(count_row)
    spend_row = None
    if spend_fit is not None:
        spend_row = _fit_row(
            spend_fit, time_unit=unit, calibration_end=end, quality={}, now=now, actor=actor
        )
        session.add(spend_row)
    session.flush()
    written_started = elapsed()
    written = write_scores(
        session,
        scores,
        fit_id=count_row.id,
        spend_fit_id=spend_row.id if spend_row else None,
        computed_at=now,
    )
    timings["write"] = elapsed() - written_started
    timings["total"] = elapsed()
    return ClvRunResult(
        model=count_model,
        time_unit=unit,
        calibration_end=end,
        count_fit=count_fit,
        spend_fit=spend_fit,
        count_fit_id=count_row.id,
        spend_fit_id=spend_row.id if spend_row else None,
        customers_scored=written,
        quality=quality,
        timings=timings,
        distribution=distribution(scores),
    )


@dataclass(frozen=True)
class FileFitResult:
    fit: FitResult
    quality: dict[str, Any]
    calibration_end: date


def fit_file(
    path: Path, *, model: ModelName, calibration_end: date | None, time_unit: TimeUnit
) -> FileFitResult:
    """Fit one model on a CDNOW-format file; the days after ``calibration_end`` (if any)
    are the holdout of a count model."""
    transactions = read_cdnow(path)
    if not len(transactions.days):
        raise ClvDataTooSmall(data={"customers": 0})
    last_day = date.fromordinal(date(1970, 1, 1).toordinal() + int(transactions.days.max()))
    end = calibration_end or last_day
    summary = transactions.summary(calibration_end=end, time_unit=time_unit)
    if model is ModelName.GAMMA_GAMMA:
        return FileFitResult(fit=gamma_gamma.fit(summary), quality={}, calibration_end=end)
    functions = COUNT_MODELS[CountModel(model.value)]
    fit = functions.fit(summary)
    quality: dict[str, Any] = {}
    if end < last_day:
        holdout = transactions.repeat_days_between(end, last_day)
        actual = np.array([holdout.get(int(c), 0) for c in summary.customer_ids], dtype=float)
        horizon = (last_day - end).days / time_unit.days
        predicted = functions.expected_purchases(fit.params, summary, horizon)
        quality = holdout_quality(summary, predicted, actual, horizon=horizon)
    return FileFitResult(fit=fit, quality=quality, calibration_end=end)


def fit_by_staff(
    session: Session,
    warehouse: Warehouse,
    principal: Principal,
    *,
    model: str,
    now: datetime,
    calibration_end: date | None,
    time_unit: str,
    timezone: str,
) -> ClvRunResult:
    """``fit_and_score`` asked for by a member of staff (API, console): audited."""
    principal.require(FIT_PERMISSION)
    run = fit_and_score(
        session,
        warehouse,
        model=model,
        now=now,
        calibration_end=calibration_end,
        time_unit=time_unit,
        actor=principal.username,
        timezone=timezone,
    )
    audit.record(
        session,
        principal,
        "analytics.clv.fit",
        target_type="clv_fit",
        target_id=run.count_fit_id,
        detail={
            "model": run.model.value,
            "time_unit": run.time_unit.value,
            "calibration_end": run.calibration_end.isoformat(),
            "customers_scored": run.customers_scored,
        },
    )
    return run
