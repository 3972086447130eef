"""Request and response shapes of the coupon APIs (operators and storefront).

Money is integer fen; ``discount_rate`` is basis points paid (8500 = 85折).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.coupon import CouponKind, CouponScope, ValidityKind

MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Fen = Annotated[int, Field(ge=0, le=100_000_000_00)]
Count = Annotated[int, Field(ge=1, le=100_000_000)]


class TemplateFields(BaseModel):
    """Every field an operator sets; cross-field rules live in ``siyu.coupons.rules``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    kind: CouponKind
    threshold_amount: Fen = 0
    discount_amount: Fen = 0
    discount_rate: int | None = Field(default=None, ge=1, le=9999)
    max_discount_amount: Fen | None = None
    gift_sku_id: RowId | None = None
    scope: CouponScope = CouponScope.ALL
    scope_ids: list[RowId] = Field(default_factory=list, max_length=500)
    channels: list[str] = Field(default_factory=lambda: ["mall", "store"], max_length=2)
    validity: ValidityKind = ValidityKind.FIXED
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    claim_starts_at: datetime | None = None
    claim_ends_at: datetime | None = None
    total_quantity: Count | None = None
    per_customer_limit: Count | None = None
    per_day_limit: Count | None = None
    in_coupon_centre: bool = False
    min_tier_rank: int | None = Field(default=None, ge=0, le=1000)
    allow_on_campaign_price: bool = False
    stackable_with: list[CouponKind] = Field(default_factory=list, max_length=5)


class TemplateIn(TemplateFields):
    pass


class TemplateUpdate(BaseModel):
    """Only the fields sent change (PATCH); see ``templates.LOCKED_FIELDS``."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    kind: CouponKind | None = None
    threshold_amount: Fen | None = None
    discount_amount: Fen | None = None
    discount_rate: int | None = Field(default=None, ge=1, le=9999)
    max_discount_amount: Fen | None = None
    gift_sku_id: RowId | None = None
    scope: CouponScope | None = None
    scope_ids: list[RowId] | None = Field(default=None, max_length=500)
    channels: list[str] | None = Field(default=None, max_length=2)
    validity: ValidityKind | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    claim_starts_at: datetime | None = None
    claim_ends_at: datetime | None = None
    total_quantity: Count | None = None
    per_customer_limit: Count | None = None
    per_day_limit: Count | None = None
    in_coupon_centre: bool | None = None
    min_tier_rank: int | None = Field(default=None, ge=0, le=1000)
    allow_on_campaign_price: bool | None = None
    stackable_with: list[CouponKind] | None = Field(default=None, max_length=5)


class RuleLine(BaseModel):
    zh: str
    en: str


class TemplateStats(BaseModel):
    issued: int
    claimed_by_source: dict[str, int]
    used: int
    written_off: int
    expired: int
    available: int
    revoked: int
    orders: int
    gmv: int
    discount_cost: int


class TemplateOut(TemplateFields):
    model_config = ConfigDict(extra="ignore")

    id: int
    public_id: str
    status: str
    issued_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    rules: list[RuleLine]
    stats: TemplateStats | None = None


class TemplateList(BaseModel):
    items: list[TemplateOut]


class CouponOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    template_id: int
    customer_id: int
    status: str
    source: str
    source_ref: str | None
    issued_by: str
    valid_from: datetime
    valid_until: datetime
    claimed_at: datetime
    used_at: datetime | None
    order_id: int | None
    used_store_id: int | None
    redeemed_by: str | None
    discount_amount: int


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: RowId
    customer_id: RowId


class SegmentGrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment_id: RowId


class GrantRowOut(BaseModel):
    row: int
    customer_id: int | None
    status: str  # "issued" or "skipped"
    code: str | None = None  # the coupon code when issued, the error code when skipped


class GrantOut(BaseModel):
    template_id: int
    rows: int
    issued: int
    skipped: int
    results: list[GrantRowOut]


class WriteOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=24)
    store_id: RowId


class WriteOffOut(BaseModel):
    coupon: CouponOut
    template_name: str
    kind: str
    rules: list[RuleLine]


# Storefront


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1, max_length=40, description="the template's public id")


class ShopTemplateOut(BaseModel):
    public_id: str
    name: str
    description: str
    kind: str
    threshold_amount: int
    discount_amount: int
    discount_rate: int | None
    max_discount_amount: int | None
    valid_until: datetime | None
    valid_days: int | None
    rules: list[RuleLine]
    # "claimable", "claimed" (holds one, may take more), "limit_reached", "sold_out",
    # "not_started", "ended", "tier_required"
    state: str
    claimed: int


class CentreOut(BaseModel):
    items: list[ShopTemplateOut]


class ShopCouponOut(BaseModel):
    code: str
    status: str
    template_public_id: str
    name: str
    kind: str
    threshold_amount: int
    discount_amount: int
    discount_rate: int | None
    max_discount_amount: int | None
    valid_from: datetime
    valid_until: datetime
    used_at: datetime | None
    rules: list[RuleLine]


class MineOut(BaseModel):
    items: list[ShopCouponOut]


class ClaimOut(BaseModel):
    coupon: ShopCouponOut


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump()
