"""Request and response shapes of the lottery APIs. Money is integer fen; odds are basis
points of 10,000 (what the prizes leave over is "thanks")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.campaigns.registry.schemas import CampaignFields, Fen, RowId
from siyu.models.lottery import PrizeKind
from siyu.orders.schemas import AddressIn

MAX_PRIZES = 12
Probability = Annotated[int, Field(ge=0, le=10_000)]


class PrizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    kind: PrizeKind
    probability: Probability
    # Units of the prize; thanks slots have none.
    stock: int = Field(default=0, ge=0, le=10_000_000)
    coupon_template_id: RowId | None = None
    points_amount: int | None = Field(default=None, ge=1, le=10_000_000)
    sku_id: RowId | None = None
    # What one prize costs the brand; None = the coupon's face value, the SKU's price,
    # or the points' cash value under the member program.
    value_amount: Fen | None = None


class LotteryRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chances_per_day: int = Field(default=1, ge=1, le=100)
    member_day_extra_chances: int = Field(default=0, ge=0, le=100)
    points_cost: int = Field(default=0, ge=0, le=1_000_000)
    claim_days: int = Field(default=7, ge=1, le=90)


class LotteryIn(LotteryRules):
    campaign: CampaignFields
    publish: bool = False
    prizes: list[PrizeIn] = Field(min_length=1, max_length=MAX_PRIZES)


class LotteryUpdate(BaseModel):
    """Rules change at any time before the end; the prize table only before the start."""

    model_config = ConfigDict(extra="forbid")

    chances_per_day: int | None = Field(default=None, ge=1, le=100)
    member_day_extra_chances: int | None = Field(default=None, ge=0, le=100)
    points_cost: int | None = Field(default=None, ge=0, le=1_000_000)
    claim_days: int | None = Field(default=None, ge=1, le=90)
    prizes: list[PrizeIn] | None = Field(default=None, min_length=1, max_length=MAX_PRIZES)


class RestockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=1, le=1_000_000)


class CampaignSummary(BaseModel):
    id: int
    public_id: str
    name: str
    description: str
    status: str
    phase: str
    warmup_at: datetime | None
    starts_at: datetime
    ends_at: datetime
    closes_at: datetime | None


class PrizeOut(BaseModel):
    id: int
    position: int
    name: str
    kind: PrizeKind
    probability: int
    stock_total: int
    stock_left: int
    won: int
    coupon_template_id: int | None
    points_amount: int | None
    sku_id: int | None
    value_amount: int


class LotteryOut(BaseModel):
    campaign: CampaignSummary
    chances_per_day: int
    member_day_extra_chances: int
    points_cost: int
    claim_days: int
    prize_table_version: int
    prize_table_hash: str
    thanks_probability: int
    prizes: list[PrizeOut]
    counters: dict[str, int] = Field(default_factory=dict)


class LotteryList(BaseModel):
    items: list[LotteryOut]


class DrawOut(BaseModel):
    """The audit record of one draw, for operators."""

    public_id: str
    customer_id: int
    day: str
    random_value: int
    prize_table_version: int
    prize_table_hash: str
    drawn_prize_id: int | None
    prize_id: int | None
    outcome: str
    kind: str
    prize_name: str
    fallback_reason: str | None
    granted: dict[str, Any]
    points_cost: int
    value_amount: int
    claim_status: str | None
    order_id: int | None
    created_at: datetime


class DrawList(BaseModel):
    items: list[DrawOut]


class WheelSlot(BaseModel):
    position: int
    name: str
    kind: PrizeKind


class ShopLotteryOut(BaseModel):
    public_id: str
    name: str
    description: str
    phase: str
    starts_at: datetime
    ends_at: datetime
    slots: list[WheelSlot]
    chances_per_day: int
    chances_today: int
    chances_left: int
    member_day: bool
    points_cost: int
    points_balance: int


class ShopDrawOut(BaseModel):
    public_id: str
    campaign_public_id: str
    campaign_name: str
    outcome: str
    kind: str
    prize_name: str
    # The wheel slot to stop on.
    slot: int
    fell_back: bool
    fallback_reason: str | None
    coupon_code: str | None = None
    points: int | None = None
    points_cost: int
    claim_status: str | None
    claim_deadline: datetime | None
    order_public_id: str | None
    chances_left: int | None = None
    created_at: datetime


class ShopDrawList(BaseModel):
    items: list[ShopDrawOut]


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: AddressIn
    note: str = Field(default="", max_length=200)
