"""Response shapes of the consumer catalog API (/api/shop/v1). Money in fen."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from siyu.catalog.availability import StockStatus


class ShopCategoryOut(BaseModel):
    id: int
    parent_id: int | None
    name: str


class ShopCategoryList(BaseModel):
    items: list[ShopCategoryOut]


class ShopProductCard(BaseModel):
    id: int
    name: str
    subtitle: str
    category_id: int | None
    image: str | None
    # The cheapest sellable SKU's price here, and that SKU's crossed-out list price.
    price_from: int
    list_price_from: int


class ShopProductPage(BaseModel):
    items: list[ShopProductCard]
    next_cursor: str | None


class ShopSkuOut(BaseModel):
    id: int
    code: str
    specs: dict[str, Any]
    image: str | None
    list_price: int
    unit_price: int
    # "sale_price" or "store_price" (the store's own price applied).
    price_kind: str
    per_order_limit: int
    # Some location that ships mall orders has at least one available.
    in_stock_for_delivery: bool


class ShopSpecOut(BaseModel):
    name: str
    values: list[str]


class ShopProductDetail(BaseModel):
    id: int
    name: str
    subtitle: str
    description: str | None
    category_id: int | None
    images: list[str]
    spec_names: list[str]
    # Each spec's values offered by the sellable SKUs, in the order they first appear.
    specs: list[ShopSpecOut]
    skus: list[ShopSkuOut]
    store_id: int | None


class ShopStoreAvailability(BaseModel):
    store_id: int
    name: str
    city: str
    address: str
    opening_hours: str
    distance_km: float | None
    unit_price: int
    # Never the count: "in_stock", or "low_stock" when 3 or fewer are left.
    stock_status: StockStatus


class ShopAvailabilityList(BaseModel):
    product_id: int
    sku_id: int
    quantity: int
    items: list[ShopStoreAvailability]


class ShopStoreOut(BaseModel):
    id: int
    name: str
    city: str
    address: str
    phone: str
    opening_hours: str
    latitude: float | None
    longitude: float | None
    distance_km: float | None


class ShopStoreList(BaseModel):
    items: list[ShopStoreOut]
