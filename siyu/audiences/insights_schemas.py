"""Response shapes of the RFM matrix and the lifecycle overview (``insights_api``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class RfmGroupOut(BaseModel):
    code: str
    label: str
    customers: int
    # Share of the scored customers, basis points (0..10000).
    share_bp: int
    spend_fen: int
    # Mean days since the last paid order, measured now; None for an empty group.
    avg_recency_days: float | None


class RfmCellOut(BaseModel):
    recency: int
    frequency: int
    customers: int


class RfmMatrixOut(BaseModel):
    scored: int  # customers with scores (at least one paid order)
    unscored: int  # customers with traits but no paid order
    split: int
    method: str
    groups: list[RfmGroupOut]
    # The R×F grid: 25 cells, recency 1..5 × frequency 1..5 (empty cells count 0).
    grid: list[RfmCellOut]


class StageCountOut(BaseModel):
    stage: str
    customers: int


class ModelDistributionOut(BaseModel):
    model: str
    stages: list[StageCountOut]


class DistributionDayOut(BaseModel):
    day: date
    model: str
    stage: str
    customers: int


class TransitionOut(BaseModel):
    customer_id: int
    model: str
    from_stage: str | None
    to_stage: str
    at: datetime


class LifecycleOut(BaseModel):
    current: list[ModelDistributionOut]
    history: list[DistributionDayOut]
    transitions: list[TransitionOut]
