"""Pydantic shapes of the CLV API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.analytics.clv.models import CountModel
from siyu.analytics.clv.overview import ClvOverview, HistogramBar
from siyu.analytics.clv.service import ClvRunResult
from siyu.analytics.clv.summary import TimeUnit
from siyu.models.analytics import ClvFit


class FitOut(BaseModel):
    id: int
    model: str
    params: dict[str, float]
    log_likelihood: float
    customers: int
    time_unit: str
    calibration_end: date | None
    quality: dict[str, Any]
    seconds: float
    fitted_at: datetime
    fitted_by: str

    @classmethod
    def of(cls, fit: ClvFit) -> FitOut:
        return cls(
            id=fit.id,
            model=fit.model,
            params={key: float(value) for key, value in fit.params.items()},
            log_likelihood=fit.log_likelihood,
            customers=fit.customers,
            time_unit=fit.time_unit,
            calibration_end=fit.calibration_end,
            quality=fit.quality,
            seconds=fit.seconds,
            fitted_at=fit.fitted_at,
            fitted_by=fit.fitted_by,
        )


class BarOut(BaseModel):
    label: str
    lower: float
    upper: float | None
    customers: int

    @classmethod
    def of(cls, bar: HistogramBar) -> BarOut:
        return cls(label=bar.label, lower=bar.lower, upper=bar.upper, customers=bar.customers)


class TopCustomerOut(BaseModel):
    customer_id: int
    probability_alive: float
    expected_purchases_365d: float
    expected_order_value: int = Field(description="fen")
    expected_value_365d: int = Field(description="fen")


class ClvOverviewOut(BaseModel):
    count_fit: FitOut | None
    spend_fit: FitOut | None
    recent_fits: list[FitOut]
    customers: int = Field(description="Scored customers the caller may see")
    value_histogram: list[BarOut] = Field(description="Expected 365-day value, fen buckets")
    alive_histogram: list[BarOut]
    top_customers: list[TopCustomerOut]

    @classmethod
    def of(cls, result: ClvOverview) -> ClvOverviewOut:
        return cls(
            count_fit=FitOut.of(result.count_fit) if result.count_fit else None,
            spend_fit=FitOut.of(result.spend_fit) if result.spend_fit else None,
            recent_fits=[FitOut.of(fit) for fit in result.recent_fits],
            customers=result.customers,
            value_histogram=[BarOut.of(bar) for bar in result.value_histogram],
            alive_histogram=[BarOut.of(bar) for bar in result.alive_histogram],
            top_customers=[TopCustomerOut(**row) for row in result.top_customers],
        )


class FitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: CountModel = CountModel.BGNBD
    time_unit: TimeUnit = TimeUnit.WEEK
    calibration_end: date | None = Field(
        default=None,
        description="Last day of calibration (brand time zone); later days are the holdout. "
        "Default: yesterday.",
    )


class FitRunOut(BaseModel):
    model: str
    time_unit: str
    calibration_end: date
    count_fit_id: int
    spend_fit_id: int | None
    params: dict[str, float]
    log_likelihood: float
    spend_params: dict[str, float] | None
    customers_scored: int
    quality: dict[str, Any]
    timings: dict[str, float]
    distribution: dict[str, Any]

    @classmethod
    def of(cls, run: ClvRunResult) -> FitRunOut:
        return cls(
            model=run.model.value,
            time_unit=run.time_unit.value,
            calibration_end=run.calibration_end,
            count_fit_id=run.count_fit_id,
            spend_fit_id=run.spend_fit_id,
            params=run.count_fit.params,
            log_likelihood=run.count_fit.log_likelihood,
            spend_params=run.spend_fit.params if run.spend_fit else None,
            customers_scored=run.customers_scored,
            quality=run.quality,
            timings=run.timings,
            distribution=run.distribution,
        )
