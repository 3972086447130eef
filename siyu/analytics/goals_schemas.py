"""Revenue goals: the request bodies, the stored plan (``RevenueGoal.plan``) and the
responses. Numbers are checked by the service (stable error codes), not here, so a
zero target is ``analytics.goal_invalid_target`` rather than a generic 422."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# Database integer bounds: larger values are a 422, never an overflow (a 500).
MAX_ID = 2**63 - 1
MAX_FEN = 10**15  # ¥10 trillion
MAX_CUSTOMERS = 10**9


class SliceDimension(StrEnum):
    STORE = "store"
    CHANNEL_CODE = "channel_code"


class PlanMethod(StrEnum):
    DERIVED = "derived"  # the base period's factors scaled to the target
    EXPLICIT = "explicit"  # the operator's own factors


class SpreadMethod(StrEnum):
    BASE_SHAPE = "base_shape"  # weekday × day-of-month shape of the base's daily GMV
    EVEN = "even"


class GoalFactors(BaseModel):
    """Operator-given factors; their products must add up to the target."""

    model_config = ConfigDict(extra="forbid")

    new_customers: int = Field(ge=0, le=MAX_CUSTOMERS)
    new_aov: float = Field(ge=0, le=MAX_FEN, description="Fen per order")
    new_frequency: float = Field(ge=0, le=1_000, description="Orders per customer")
    returning_customers: int = Field(ge=0, le=MAX_CUSTOMERS)
    returning_aov: float = Field(ge=0, le=MAX_FEN)
    returning_frequency: float = Field(ge=0, le=1_000)


class GoalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    target_amount: int = Field(le=MAX_FEN, description="Fen; must be positive")
    period_start: date
    period_end: date
    slice_dimension: SliceDimension | None = None
    slice_value: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Store id or channel code id"
    )
    # Derive the factors from this base period (default: the same period last year when
    # it sold anything, else the previous period) unless ``factors`` are given.
    base_start: date | None = None
    base_end: date | None = None
    factors: GoalFactors | None = None


class GoalUpdate(BaseModel):
    """Only the fields sent change; anything but the name re-plans the goal."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    target_amount: int | None = Field(default=None, le=MAX_FEN)
    period_start: date | None = None
    period_end: date | None = None
    slice_dimension: SliceDimension | None = None
    slice_value: int | None = Field(default=None, ge=1, le=MAX_ID)
    base_start: date | None = None
    base_end: date | None = None
    factors: GoalFactors | None = None
    derive: bool = Field(
        default=False, description="Drop explicit factors and derive from the base period"
    )


class SegmentFigures(BaseModel):
    customers: int
    orders: int
    gmv: int


class SegmentPlanOut(BaseModel):
    customers: int
    aov: float
    frequency: float
    amount: int


class GoalPlan(BaseModel):
    """What is stored in ``RevenueGoal.plan``: frozen when the goal is saved, so later
    refunds in the base period do not move the targets operators work towards."""

    method: PlanMethod
    base_start: date | None = None
    base_end: date | None = None
    base_new: SegmentFigures | None = None
    base_returning: SegmentFigures | None = None
    new: SegmentPlanOut
    returning: SegmentPlanOut
    spread: SpreadMethod
    daily: list[int]  # fen per day of the period, in order; sums to the target
    # The explicit factors as given, so a PATCH of another field can re-plan with them.
    factors: GoalFactors | None = None


class GoalOut(BaseModel):
    id: int
    name: str
    target_amount: int
    period_start: date
    period_end: date
    slice_dimension: str | None
    slice_value: str | None
    plan: GoalPlan
    created_by: str
    created_at: datetime
    updated_at: datetime


class GoalList(BaseModel):
    items: list[GoalOut]


class SpreadRow(BaseModel):
    bucket: date
    target: int


class PacingDay(BaseModel):
    day: date
    target: int
    cumulative_target: int
    actual: int | None  # None after the last complete day
    cumulative_actual: int | None
    achieved: float | None  # cumulative actual / cumulative target


class ContributionOut(BaseModel):
    segment: str
    factor: str
    planned: float
    actual: float
    contribution: float


class Pacing(BaseModel):
    as_of: date | None  # the last complete day inside the period; None before it starts
    actual_to_date: int
    target_to_date: int
    achieved: float | None
    projected_end: int | None  # actual to date scaled by the spread: linear on its shape
    projected_achievement: float | None
    gap: int  # actual − target to date
    new: SegmentFigures
    returning: SegmentFigures
    contributions: list[ContributionOut]
    behind: ContributionOut | None
    days: list[PacingDay]


class GoalReportOut(BaseModel):
    goal: GoalOut
    spread_month: list[SpreadRow]
    spread_week: list[SpreadRow]
    spread_day: list[SpreadRow]
    pacing: Pacing
