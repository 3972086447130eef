"""Request and response shapes of the bargain mechanic. Money is integer fen."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.campaigns.common_orders import OrderIn
from siyu.campaigns.registry.schemas import CampaignFields, CampaignOut, Fen, RowId


class DealIn(BaseModel):
    """A new bargain campaign: the registry's fields plus the deal."""

    model_config = ConfigDict(extra="forbid")

    campaign: CampaignFields
    sku_id: RowId
    floor_price: Fen
    expected_helpers: int = Field(ge=1, le=100, description="K: helps to reach the floor")
    daily_help_limit: int = Field(default=3, ge=1, le=100, description="M per helper per day")
    time_limit_minutes: int = Field(default=24 * 60, ge=1, le=30 * 24 * 60)
    helper_coupon_template_id: RowId
    stock: int = Field(ge=1, le=1_000_000)
    publish: bool = False


class DealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    sku_id: int
    start_price: int
    floor_price: int
    expected_helpers: int
    daily_help_limit: int
    time_limit_minutes: int
    helper_coupon_template_id: int
    stock_total: int
    stock_left: int


class BargainOut(BaseModel):
    public_id: str
    customer_id: int
    start_price: int
    floor_price: int
    current_price: int
    helper_count: int
    expected_helpers: int
    status: str
    expires_at: datetime
    reached_at: datetime | None
    order_id: int | None
    ordered_price: int | None
    purchased_at: datetime | None
    created_at: datetime


class CampaignDealOut(BaseModel):
    campaign: CampaignOut
    deal: DealOut


class CampaignDealList(BaseModel):
    items: list[CampaignDealOut]


class BargainList(BaseModel):
    items: list[BargainOut]


class AuditEntry(BaseModel):
    sequence: int
    planned_cut: int
    recorded_cut: int | None
    planned_price_after: int
    recorded_price_after: int | None


class AuditOut(BaseModel):
    """The cut plan recomputed from the stored seed beside what was recorded."""

    public_id: str
    seed: str
    start_price: int
    floor_price: int
    expected_helpers: int
    entries: list[AuditEntry]
    matches: bool


class HelperOut(BaseModel):
    sequence: int
    name: str
    cut_amount: int
    price_after: int
    created_at: datetime


class ShopDealOut(BaseModel):
    campaign_id: str
    name: str
    description: str
    phase: str
    ends_at: datetime
    sku_id: int
    product_name: str
    image: str | None
    start_price: int
    floor_price: int
    expected_helpers: int
    stock_left: int
    # The caller's live bargain on this deal, if signed in and started.
    my_bargain: str | None = None


class ShopBargainOut(BaseModel):
    public_id: str
    campaign_id: str
    campaign_name: str
    product_name: str
    image: str | None
    start_price: int
    floor_price: int
    current_price: int
    helper_count: int
    expected_helpers: int
    status: str
    expires_at: datetime
    is_mine: bool
    # Whether the caller helped already (None when not signed in).
    helped: bool | None
    order_public_id: str | None
    helpers: list[HelperOut]
    share_path: str


class HelpOut(BaseModel):
    sequence: int
    cut_amount: int
    price_after: int
    coupon_code: str | None
    bargain: ShopBargainOut


class BuyIn(OrderIn):
    """Buying a bargain at its current price."""


class BuyOut(BaseModel):
    order_public_id: str
    total_amount: int
    unit_price: int
    bargain: ShopBargainOut
