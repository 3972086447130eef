"""Request and response shapes of the points-mall APIs (operators and storefront)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.member import PointsMallItemKind
from siyu.models.order import Fulfilment
from siyu.orders.schemas import AddressIn


class ItemFields(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=5000)
    image: str | None = Field(default=None, max_length=500)
    sku_id: int | None = None
    coupon_template_id: int | None = None
    points_price: int | None = Field(default=None, ge=0, le=100_000_000)
    cash_price: int | None = Field(default=None, ge=0, le=100_000_000)
    per_member_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    min_tier_rank: int | None = None
    sort: int | None = None


class ItemIn(ItemFields):
    kind: PointsMallItemKind
    name: str = Field(min_length=1, max_length=100)
    points_price: int = Field(ge=0, le=100_000_000)
    cash_price: int = Field(default=0, ge=0, le=100_000_000)
    stock_total: int = Field(ge=0, le=100_000_000)


class ItemUpdate(ItemFields):
    """Only the fields sent change; the kind and stock do not (restock for stock)."""


class RestockIn(BaseModel):
    quantity: int = Field(ge=1, le=100_000_000)


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    public_id: str
    kind: str
    name: str
    description: str
    image: str | None
    sku_id: int | None
    coupon_template_id: int | None
    points_price: int
    cash_price: int
    stock_total: int
    stock_left: int
    per_member_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    min_tier_rank: int | None
    status: str
    sort: int
    created_at: datetime
    updated_at: datetime


class ItemList(BaseModel):
    items: list[ItemOut]


class ExchangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    public_id: str
    item_id: int
    customer_id: int
    quantity: int
    points: int
    cash_amount: int
    status: str
    order_id: int | None
    coupon_id: int | None
    created_at: datetime
    updated_at: datetime


class ExchangeList(BaseModel):
    items: list[ExchangeOut]


# Storefront


class ShopItemOut(BaseModel):
    public_id: str
    kind: str
    name: str
    description: str
    image: str | None
    points_price: int
    cash_price: int
    stock_left: int
    valid_until: datetime | None
    min_tier_rank: int | None
    # None = no per-member limit.
    remaining_limit: int | None
    affordable: bool


class ShopItemList(BaseModel):
    items: list[ShopItemOut]
    points_balance: int


class ExchangeIn(BaseModel):
    item_id: str = Field(min_length=1, max_length=40, description="the item's public id")
    quantity: int = Field(default=1, ge=1, le=100)
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pickup_store_id: int | None = None
    address: AddressIn | None = None


class ShopExchangeOut(BaseModel):
    public_id: str
    item_id: str
    item_name: str
    kind: str
    quantity: int
    points: int
    cash_amount: int
    status: str
    order_public_id: str | None
    coupon_code: str | None
    created_at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)


class ShopExchangeList(BaseModel):
    items: list[ShopExchangeOut]
