"""Request and response shapes of group buy. Money is integer fen."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.campaigns.registry.schemas import CampaignFields, Fen, RowId
from siyu.models.order import Fulfilment
from siyu.orders.schemas import AddressIn

MAX_DEALS = 20


class DealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: RowId
    title: str = Field(min_length=1, max_length=100)
    group_price: Fen = Field(gt=0)
    leader_price: Fen | None = Field(default=None, gt=0, description="团长价; ≤ group price")
    group_size: int = Field(ge=2, le=50)
    time_limit_minutes: int = Field(default=1440, ge=5, le=10080)
    new_customers_only: bool = False
    per_customer_limit: int | None = Field(default=None, ge=1, le=1000)
    stock_total: int = Field(ge=1, le=10_000_000)
    virtual_completion: bool = False
    sort: int = 0


class DealUpdate(BaseModel):
    """A partial change. Prices and group size lock once the campaign has started; stock
    may only grow."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=100)
    group_price: Fen | None = Field(default=None, gt=0)
    leader_price: Fen | None = Field(default=None, gt=0)
    group_size: int | None = Field(default=None, ge=2, le=50)
    time_limit_minutes: int | None = Field(default=None, ge=5, le=10080)
    new_customers_only: bool | None = None
    per_customer_limit: int | None = Field(default=None, ge=1, le=1000)
    stock_total: int | None = Field(default=None, ge=1, le=10_000_000)
    virtual_completion: bool | None = None
    sort: int | None = None


class GroupBuyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign: CampaignFields
    deals: list[DealIn] = Field(min_length=1, max_length=MAX_DEALS)
    publish: bool = False


class DealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    public_id: str
    campaign_id: int
    sku_id: int
    title: str
    group_price: int
    leader_price: int | None
    group_size: int
    time_limit_minutes: int
    new_customers_only: bool
    per_customer_limit: int | None
    stock_total: int
    stock_left: int
    virtual_completion: bool
    sort: int


class CampaignSummary(BaseModel):
    id: int
    public_id: str
    name: str
    status: str
    phase: str
    starts_at: datetime
    ends_at: datetime
    closes_at: datetime | None


class GroupBuyOut(BaseModel):
    campaign: CampaignSummary
    deals: list[DealOut]
    counters: dict[str, int]


class GroupBuyList(BaseModel):
    items: list[GroupBuyOut]


class MemberOut(BaseModel):
    customer_id: int
    name: str
    is_leader: bool
    status: str
    order_public_id: str | None
    amount: int
    joined_at: datetime
    paid_at: datetime | None


class GroupOut(BaseModel):
    public_id: str
    deal_public_id: str
    status: str
    size: int
    member_count: int
    paid_count: int
    virtual_completion: bool
    virtual_seats: int
    opened_at: datetime | None
    expires_at: datetime | None
    filled_at: datetime | None
    failed_at: datetime | None
    members: list[MemberOut]


class GroupList(BaseModel):
    items: list[GroupOut]


# Storefront ---------------------------------------------------------------------------


class ParticipateIn(BaseModel):
    """Where the goods go when the group fills."""

    model_config = ConfigDict(extra="forbid")

    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pickup_store_id: int | None = None
    address: AddressIn | None = None


class ShopMemberOut(BaseModel):
    # Masked (张*) or a neutral label: other customers never see who someone is.
    name: str
    initial: str
    is_leader: bool
    is_me: bool
    paid: bool


class ShopGroupOut(BaseModel):
    public_id: str
    deal_public_id: str
    status: str
    size: int
    member_count: int
    paid_count: int
    seats_left: int
    expires_at: datetime | None
    # 模拟成团: shown on the group page whenever it is on.
    virtual_completion: bool
    virtual_seats: int
    share_path: str
    members: list[ShopMemberOut]
    is_mine: bool
    # The caller's own order in this group (to pay it, or to follow it), if any.
    my_order_public_id: str | None = None


class ShopDealOut(BaseModel):
    public_id: str
    title: str
    campaign_public_id: str
    campaign_name: str
    phase: str
    starts_at: datetime
    ends_at: datetime
    sku_id: int
    product_name: str
    image: str | None
    sale_price: int
    group_price: int
    leader_price: int | None
    group_size: int
    time_limit_minutes: int
    new_customers_only: bool
    virtual_completion: bool
    stock_left: int
    open_groups: list[ShopGroupOut]


class ParticipationOut(BaseModel):
    group: ShopGroupOut
    order_public_id: str
    amount: int


class ShopMyGroups(BaseModel):
    items: list[ShopGroupOut]
