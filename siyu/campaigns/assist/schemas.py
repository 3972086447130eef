"""Request and response shapes of the assist mechanic. Money is integer fen."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.campaigns.common_orders import OrderIn
from siyu.campaigns.registry.schemas import CampaignFields, CampaignOut, RowId
from siyu.models.bargain import AssistRewardKind


class DealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign: CampaignFields
    required_assists: int = Field(ge=1, le=100, description="N assists unlock the reward")
    reward_kind: AssistRewardKind
    reward_coupon_template_id: RowId | None = None
    gift_sku_id: RowId | None = None
    reward_stock: int = Field(ge=1, le=1_000_000)
    daily_help_limit: int = Field(default=3, ge=1, le=100)
    time_limit_minutes: int = Field(default=24 * 60, ge=1, le=30 * 24 * 60)
    helper_coupon_template_id: RowId
    publish: bool = False


class DealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    required_assists: int
    reward_kind: str
    reward_coupon_template_id: int | None
    gift_sku_id: int | None
    reward_stock_total: int
    reward_stock_left: int
    daily_help_limit: int
    time_limit_minutes: int
    helper_coupon_template_id: int


class CampaignDealOut(BaseModel):
    campaign: CampaignOut
    deal: DealOut


class CampaignDealList(BaseModel):
    items: list[CampaignDealOut]


class AssistOut(BaseModel):
    public_id: str
    customer_id: int
    required_assists: int
    assist_count: int
    status: str
    expires_at: datetime
    unlocked_at: datetime | None
    reward_coupon_id: int | None
    order_id: int | None
    claimed_at: datetime | None
    created_at: datetime


class AssistList(BaseModel):
    items: list[AssistOut]


class HelperOut(BaseModel):
    sequence: int
    name: str
    created_at: datetime


class ShopDealOut(BaseModel):
    campaign_id: str
    name: str
    description: str
    phase: str
    ends_at: datetime
    required_assists: int
    reward_kind: str
    reward_name: str
    image: str | None
    rewards_left: int
    my_assist: str | None = None


class ShopAssistOut(BaseModel):
    public_id: str
    campaign_id: str
    campaign_name: str
    reward_kind: str
    reward_name: str
    image: str | None
    required_assists: int
    assist_count: int
    status: str
    expires_at: datetime
    is_mine: bool
    helped: bool | None
    reward_coupon_code: str | None
    order_public_id: str | None
    helpers: list[HelperOut]
    share_path: str


class HelpOut(BaseModel):
    sequence: int
    coupon_code: str | None
    assist: ShopAssistOut


class ClaimIn(OrderIn):
    """Claiming an unlocked gift."""


class ClaimOut(BaseModel):
    order_public_id: str
    total_amount: int
    order_status: str
    assist: ShopAssistOut
