"""The audience settings document (``audience_config.config``): RFM scoring and the
lifecycle windows (docs/traits.md).

Every field has a default, so a shop without a saved row runs on sensible settings and
adding a setting never needs a migration. ``extra="forbid"`` turns a misspelt key into
a clear 400 instead of a setting that silently does nothing.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_ENGAGEMENT_EVENTS = [
    "product_view",
    "add_to_cart",
    "checkout_start",
    "search",
    "share",
    "coupon_claimed",
    "message_click",
    "group_join",
]


# Tracked event type names (siyu.events.catalogue, custom.* included): they are
# inlined into SQL as literals, so only these characters are accepted.
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RfmMethod(StrEnum):
    # Rank-based quintiles over every customer with a paid order (ties share a score).
    QUANTILE = "quantile"
    # Fixed cut points per dimension (RfmThresholds).
    THRESHOLDS = "thresholds"


def _ascending(values: list[int], name: str) -> list[int]:
    if any(later <= earlier for earlier, later in zip(values, values[1:], strict=False)):
        raise ValueError(f"{name} must rise strictly")
    return values


class RfmThresholds(_Settings):
    """Four rising cut points per dimension split the values into scores 1–5.

    Recency (days since the last paid order): ≤ c1 → 5, ≤ c2 → 4, ≤ c3 → 3, ≤ c4 → 2,
    else 1. Frequency (paid orders) and monetary (spend, fen): score = 1 + the number of
    cut points ≤ the value, so with [2, 3, 5, 8] one order scores 1 and eight score 5.
    """

    recency_days: list[int] = Field(
        default_factory=lambda: [30, 90, 180, 365], min_length=4, max_length=4
    )
    frequency_orders: list[int] = Field(
        default_factory=lambda: [2, 3, 5, 8], min_length=4, max_length=4
    )
    monetary_fen: list[int] = Field(
        default_factory=lambda: [20_000, 50_000, 100_000, 300_000], min_length=4, max_length=4
    )

    @model_validator(mode="after")
    def _rising(self) -> RfmThresholds:
        for name in ("recency_days", "frequency_orders", "monetary_fen"):
            values = getattr(self, name)
            if any(value < 0 for value in values):
                raise ValueError(f"{name} must not be negative")
            _ascending(values, name)
        return self


class RfmSettings(_Settings):
    method: RfmMethod = RfmMethod.QUANTILE
    thresholds: RfmThresholds = Field(default_factory=RfmThresholds)
    # A score ≥ split counts as "high" when the 8 groups are formed.
    split: int = Field(default=3, ge=2, le=5)


class AiplSettings(_Settings):
    # Engaged (tracked events of these types, or a WeCom contact added) within this many
    # days, without a paid order → interested; otherwise aware.
    interest_window_days: int = Field(default=30, ge=1, le=3650)
    engagement_events: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ENGAGEMENT_EVENTS), min_length=1, max_length=50
    )
    # Loyal: at least this many paid orders within the loyal window …
    loyal_min_orders: int = Field(default=3, ge=1, le=10_000)
    loyal_window_days: int = Field(default=365, ge=1, le=3650)
    # … or a member tier of at least this rank (None: tiers do not make anyone loyal).
    loyal_min_tier_rank: int | None = Field(default=None, ge=0, le=1000)

    @field_validator("engagement_events")
    @classmethod
    def _event_names(cls, values: list[str]) -> list[str]:
        for value in values:
            if not EVENT_TYPE_PATTERN.match(value):
                raise ValueError(f"{value!r} is not an event type name")
        return sorted(set(values), key=values.index)


class OperationalSettings(_Settings):
    # new: the first paid order within new_days; active: the last one within
    # active_days; dormant: within churn_days; churned: older.
    new_days: int = Field(default=30, ge=1, le=3650)
    active_days: int = Field(default=90, ge=1, le=3650)
    churn_days: int = Field(default=180, ge=1, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> OperationalSettings:
        if not self.new_days <= self.active_days < self.churn_days:
            raise ValueError("windows must satisfy new_days ≤ active_days < churn_days")
        return self


class AudienceSettings(_Settings):
    rfm: RfmSettings = Field(default_factory=RfmSettings)
    aipl: AiplSettings = Field(default_factory=AiplSettings)
    operational: OperationalSettings = Field(default_factory=OperationalSettings)
