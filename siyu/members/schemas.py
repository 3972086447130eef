"""Pydantic shapes of the members API (operator and storefront)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=64)
    name_en: str = Field(default="", max_length=64)
    rank: int = Field(ge=0, le=1000)
    growth_threshold: int = Field(ge=0, le=1_000_000_000)
    discount_rate: int = Field(default=10000, ge=1, le=10000)
    points_multiplier: int = Field(default=100, ge=0, le=10000)
    free_shipping_threshold: int | None = Field(default=None, ge=0, le=100_000_000)
    birthday_points: int = Field(default=0, ge=0, le=1_000_000)
    birthday_coupon_template_id: int | None = Field(default=None, ge=1)
    description: str = Field(default="", max_length=2000)


class TierUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=64)
    name_en: str | None = Field(default=None, max_length=64)
    rank: int | None = Field(default=None, ge=0, le=1000)
    growth_threshold: int | None = Field(default=None, ge=0, le=1_000_000_000)
    discount_rate: int | None = Field(default=None, ge=1, le=10000)
    points_multiplier: int | None = Field(default=None, ge=0, le=10000)
    free_shipping_threshold: int | None = Field(default=None, ge=0, le=100_000_000)
    birthday_points: int | None = Field(default=None, ge=0, le=1_000_000)
    birthday_coupon_template_id: int | None = Field(default=None, ge=1)
    description: str | None = Field(default=None, max_length=2000)


class TierOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str
    rank: int
    growth_threshold: int
    discount_rate: int
    points_multiplier: int
    free_shipping_threshold: int | None
    birthday_points: int
    birthday_coupon_template_id: int | None
    description: str


class TierList(BaseModel):
    items: list[TierOut]


class TierChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_tier_id: int | None
    to_tier_id: int
    reason: str
    growth_value: int
    created_at: datetime


class ExpiringOut(BaseModel):
    points: int
    expires_at: datetime


class MembershipOut(BaseModel):
    customer_id: int
    is_member: bool
    tier: TierOut | None
    next_tier: TierOut | None
    growth_value: int
    period_growth: int
    growth_to_next: int | None
    points_available: int
    points_frozen: int
    expiring: ExpiringOut | None
    joined_at: datetime | None
    tier_reviewed_at: datetime | None
    next_review_at: datetime | None
    tier_changes: list[TierChangeOut] = Field(default_factory=list)


class PointsEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: str
    amount: int
    remaining: int
    balance_after: int
    expires_at: datetime | None
    order_id: int | None
    reference: str | None
    reason: str
    actor: str
    created_at: datetime


class PointsPage(BaseModel):
    items: list[PointsEntryOut]
    next_cursor: str | None
    available: int
    frozen: int


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=-100_000_000, le=100_000_000)
    # Checked by the service (``points.reason_required``), not here, so an empty
    # reason gets the domain's code rather than a generic validation error.
    reason: str = Field(default="", max_length=200)


class GrowthTaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=32)


class GrowthTaskOut(BaseModel):
    task: str
    growth: int
    growth_value: int


class TierSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier_id: int = Field(ge=1)
    reason: str = Field(default="", max_length=200)


class MismatchOut(BaseModel):
    customer_id: int
    check: str
    ledger: int
    balance: int


class AuditOut(BaseModel):
    ok: bool
    memberships: int
    mismatches: list[MismatchOut]


class ShopTierOut(BaseModel):
    code: str
    name: str
    name_en: str
    rank: int
    growth_threshold: int
    discount_rate: int
    points_multiplier: int
    free_shipping_threshold: int | None
    birthday_points: int
    description: str
    is_current: bool = False


class ShopTierList(BaseModel):
    items: list[ShopTierOut]
    current_rank: int | None


class ShopMemberOut(BaseModel):
    tier: ShopTierOut | None
    next_tier: ShopTierOut | None
    growth_value: int
    period_growth: int
    growth_to_next: int | None
    points_available: int
    points_frozen: int
    expiring: ExpiringOut | None
    points_value: int
    next_review_at: datetime | None


class ShopPointsEntryOut(BaseModel):
    kind: str
    status: str
    amount: int
    balance_after: int
    reason: str
    expires_at: datetime | None
    created_at: datetime


class ShopPointsPage(BaseModel):
    items: list[ShopPointsEntryOut]
    next_cursor: str | None
