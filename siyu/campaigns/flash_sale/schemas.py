"""Request and response shapes of the flash sale. Money is integer fen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from siyu.campaigns.registry.schemas import CampaignFields, Fen, RowId
from siyu.models.order import Fulfilment
from siyu.orders.schemas import AddressIn

Units = Annotated[int, Field(ge=1, le=1_000_000)]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: RowId
    campaign_price: Fen
    starting_stock: Units
    per_customer_limit: int = Field(default=1, ge=1, le=1000)
    sort: int = Field(default=0, ge=-1000, le=1000)


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    starts_at: datetime
    ends_at: datetime
    # Reserve requests allowed per customer / per IP in a 10-second window.
    customer_rate_limit: int = Field(default=10, ge=1, le=1_000_000)
    ip_rate_limit: int = Field(default=300, ge=1, le=100_000_000)
    items: list[ItemIn] = Field(min_length=1, max_length=50)


class FlashSaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign: CampaignFields
    sessions: list[SessionIn] = Field(min_length=1, max_length=20)
    publish: bool = False


class SessionUpdate(BaseModel):
    """Replace a session's window, limits or items; only before it starts."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    customer_rate_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    ip_rate_limit: int | None = Field(default=None, ge=1, le=100_000_000)
    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=50)


class ItemOut(BaseModel):
    public_id: str
    sku_id: int
    product_name: str
    specs: str
    image: str | None
    list_price: int
    campaign_price: int
    starting_stock: int
    stock_left: int
    reserved: int
    sold: int
    per_customer_limit: int


class SessionOut(BaseModel):
    id: int
    public_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    phase: str
    stock_engine: str | None
    customer_rate_limit: int
    ip_rate_limit: int
    items: list[ItemOut]
    counters: dict[str, int]


class FlashSaleOut(BaseModel):
    campaign_id: int
    campaign_public_id: str
    name: str
    status: str
    phase: str
    warmup_at: datetime | None
    starts_at: datetime
    ends_at: datetime
    sessions: list[SessionOut]
    counters: dict[str, int]


class FlashSaleList(BaseModel):
    items: list[FlashSaleOut]


class AuditItemOut(BaseModel):
    item_id: str
    starting_stock: int
    stock_left: int
    sold: int
    reserved: int
    # Redis engine: the Redis counter, and entries still queued for the drain.
    redis_stock: int | None
    queued: int
    pending_returns: int
    balanced: bool


class AuditOut(BaseModel):
    session_id: str
    engine: str | None
    balanced: bool
    items: list[AuditItemOut]


class ReserveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=40)
    quantity: int = Field(default=1, ge=1, le=100)
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pickup_store_id: RowId | None = None
    address: AddressIn | None = None


class ReservationOut(BaseModel):
    public_id: str
    status: str
    item_id: str | None = None
    quantity: int
    unit_price: int
    order_public_id: str | None = None
    failure_code: str | None = None
    created_at: datetime | None = None


class ReservationList(BaseModel):
    items: list[ReservationOut]


class ShopItemOut(BaseModel):
    public_id: str
    product_name: str
    specs: str
    image: str | None
    list_price: int
    campaign_price: int
    starting_stock: int
    stock_left: int
    per_customer_limit: int


class ShopSessionOut(BaseModel):
    public_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    phase: str
    items: list[ShopItemOut]


class ShopFlashSaleOut(BaseModel):
    public_id: str
    name: str
    description: str
    phase: str
    warmup_at: datetime | None
    starts_at: datetime
    ends_at: datetime
    server_time: datetime
    sessions: list[ShopSessionOut]
