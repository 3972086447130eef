"""Analytics: customer lifetime value per customer, the fits behind it, and revenue goals.

Metrics, decompositions, funnels and cohorts are computed in the warehouse (DuckDB)
on demand and never stored. What is stored here is what operators decide (goals)
and what is expensive to fit (CLV models), written back in bulk so the 360 view,
rules and the console read them without DuckDB.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class ClvFit(Base):
    """One fit of a CLV model on the brand's transactions (``siyu analytics clv``)."""

    __tablename__ = "clv_fit"
    __table_args__ = (Index("ix_clv_fit_model_fitted", "model", "fitted_at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # "bgnbd", "pareto_nbd" or "gamma_gamma".
    model: Mapped[str] = mapped_column(String(16))
    # Fitted parameters by name (r, alpha, a, b / r, alpha, s, beta / p, q, gamma).
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    log_likelihood: Mapped[float]
    customers: Mapped[int]
    time_unit: Mapped[str] = mapped_column(String(8))  # "week" or "day"
    calibration_end: Mapped[date | None]
    # Calibration/holdout prediction quality when a holdout period was used.
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seconds: Mapped[float] = mapped_column(default=0.0)
    fitted_at: Mapped[datetime]
    fitted_by: Mapped[str] = mapped_column(String(64), default="")


class CustomerValue(Base):
    """Per customer: the latest CLV prediction (one row, replaced by each scoring run)."""

    __tablename__ = "customer_value"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    # The purchase-count fit (bgnbd / pareto_nbd) and the spend fit it used.
    fit_id: Mapped[int | None] = mapped_column(ForeignKey("clv_fit.id", ondelete="SET NULL"))
    spend_fit_id: Mapped[int | None] = mapped_column(ForeignKey("clv_fit.id", ondelete="SET NULL"))
    probability_alive: Mapped[float]
    expected_purchases_90d: Mapped[float]
    expected_purchases_365d: Mapped[float]
    # Fen: expected spend per order (Gamma-Gamma) × expected purchases.
    expected_order_value: Mapped[int] = mapped_column(default=0)
    expected_value_90d: Mapped[int] = mapped_column(default=0)
    expected_value_365d: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime]


class RevenueGoal(TimestampMixin, Base):
    """A revenue target for a period, decomposed as the seeds do (docs/analytics.md):
    new customers × their AOV × frequency + returning customers × AOV × frequency.

    ``plan`` holds the factors (``new_customers``, ``new_aov``, ``new_frequency``,
    ``returning_customers``, ``returning_aov``, ``returning_frequency``) and how the
    target spreads over months/weeks/days; a goal may be for one slice (a store, a
    channel code) or the whole brand (slice NULL)."""

    __tablename__ = "revenue_goal"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint("target_amount > 0", name="target_positive"),
        Index("ix_revenue_goal_period", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Inclusive dates in the brand's time zone.
    period_start: Mapped[date]
    period_end: Mapped[date]
    target_amount: Mapped[int]  # fen
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # None: the whole brand; otherwise a slice dimension ("store", "channel_code") and value.
    slice_dimension: Mapped[str | None] = mapped_column(String(32))
    slice_value: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64), default="")
