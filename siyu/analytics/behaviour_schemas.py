"""Request and response bodies of the behaviour analytics API (traffic, funnels, cohorts).

Responses are read from the services' dataclasses (``from_attributes``); the request
is kept loose on purpose (lists and integers) so the service's validation answers
with its stable codes (``analytics.invalid_request`` / ``analytics.invalid_slice``).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PeriodOut(_Read):
    start: date
    end: date


# Traffic map -------------------------------------------------------------------------


class TrafficNodeOut(_Read):
    key: str
    stage: str
    name: str
    customers: int


class TrafficLinkOut(_Read):
    source: str
    target: str
    customers: int


class TrafficRowOut(_Read):
    name: str
    acquired: int
    private_domain: int
    first_order: int
    repeat_order: int
    private_domain_rate: float | None
    first_order_rate: float | None
    repeat_rate: float | None


class TrafficStepOut(_Read):
    name: str
    customers: int
    rate_from_previous: float | None


class TrafficMapOut(_Read):
    period: PeriodOut
    acquired: int
    steps: list[TrafficStepOut]
    nodes: list[TrafficNodeOut]
    links: list[TrafficLinkOut]
    sources: list[TrafficRowOut]
    touchpoints: list[TrafficRowOut]


# Funnels -----------------------------------------------------------------------------


class FunnelStepIn(BaseModel):
    type: str = Field(max_length=64, examples=["product_view"])
    where: dict[str, str | int] = Field(
        default_factory=dict,
        description="Property filters: properties.<key> equals the value (as text).",
        examples=[{"category": "口红"}],
    )


class FunnelRequest(BaseModel):
    steps: list[FunnelStepIn] = Field(max_length=20)
    window_seconds: int = Field(86400, description="From the first step; 60 s to 90 days.")
    slice: str | None = Field(None, description="touchpoint, channel_code or campaign")


class FunnelStepOut(_Read):
    index: int
    type: str
    where: dict[str, str | int]
    customers: int
    rate_from_previous: float | None
    rate_from_first: float | None


class FunnelSliceOut(_Read):
    value: str
    label: str
    customers: list[int]
    conversion: float | None


class FunnelOut(_Read):
    period: PeriodOut
    window_seconds: int
    slice_by: str | None
    steps: list[FunnelStepOut]
    slices: list[FunnelSliceOut]


class LifecycleStageOut(_Read):
    stage: str
    customers: int
    rate_of_acquired: float | None


class LifecycleFunnelOut(_Read):
    period: PeriodOut
    stages: list[LifecycleStageOut]


# Cohorts -----------------------------------------------------------------------------


class CohortRowOut(_Read):
    key: str
    customers: int
    retention: list[float | None]
    repurchase: list[float | None]
    ltv: list[int | None] = Field(description="Cumulative GMV per customer, fen")


class CohortTableOut(_Read):
    period: PeriodOut
    by: str
    measure: str
    offsets: list[int]
    cohorts: list[CohortRowOut]
