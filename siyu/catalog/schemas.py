"""Request and response shapes of the catalog: operator API and storefront reads.

Money is integer fen everywhere; the console converts yuan at its edge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.catalog import ProductStatus, SalesChannel
from siyu.models.location import LocationKind
from siyu.models.stock import StockMovementKind

MAX_PRICE_FEN = 100_000_000_00  # one hundred million yuan: far above any real item
# Ids beyond a signed 64-bit integer cannot exist; refusing them keeps the database
# driver from failing on an out-of-range parameter (a 500 instead of a 422).
MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    parent_id: RowId | None = None
    sort_order: int = Field(default=0, ge=-100_000, le=100_000)
    is_active: bool = True


class CategoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    # Send "parent_id": null to move a category to the top level.
    parent_id: RowId | None = None
    sort_order: int | None = Field(default=None, ge=-100_000, le=100_000)
    is_active: bool | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    name: str
    sort_order: int
    is_active: bool


class CategoryList(BaseModel):
    items: list[CategoryOut]


class SkuIn(BaseModel):
    """One SKU of a product. With ``id`` it updates that SKU, without it adds one."""

    model_config = ConfigDict(extra="forbid")

    id: RowId | None = None
    code: str = Field(min_length=1, max_length=64)
    specs: dict[str, str] = Field(default_factory=dict)
    list_price: int = Field(ge=0, le=MAX_PRICE_FEN)
    sale_price: int = Field(ge=0, le=MAX_PRICE_FEN)
    channels: list[SalesChannel] = Field(
        default_factory=lambda: [SalesChannel.MALL, SalesChannel.STORE], max_length=2
    )
    is_active: bool = True
    per_order_limit: int = Field(default=99, ge=1, le=9999)
    weight_grams: int = Field(default=0, ge=0, le=1_000_000)
    image: str | None = Field(default=None, max_length=500)


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    subtitle: str = Field(default="", max_length=200)
    category_id: RowId | None = None
    description: str | None = Field(default=None, max_length=20_000)
    images: list[str] = Field(default_factory=list, max_length=20)
    spec_names: list[str] = Field(default_factory=list, max_length=5)
    sort_weight: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    skus: list[SkuIn] = Field(min_length=1, max_length=200)


class ProductUpdate(BaseModel):
    """Only the fields sent change. ``skus``, when sent, is the complete list: rows
    with an id update that SKU, rows without add one, and SKUs left out are switched
    off (never deleted: orders point at them)."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    subtitle: str | None = Field(default=None, max_length=200)
    category_id: RowId | None = None
    description: str | None = Field(default=None, max_length=20_000)
    images: list[str] | None = Field(default=None, max_length=20)
    spec_names: list[str] | None = Field(default=None, max_length=5)
    sort_weight: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    skus: list[SkuIn] | None = Field(default=None, min_length=1, max_length=200)


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ProductStatus


class SkuOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    code: str
    specs: dict[str, Any]
    list_price: int
    sale_price: int
    channels: list[str]
    is_active: bool
    per_order_limit: int
    weight_grams: int
    image: str | None


class ProductOut(BaseModel):
    id: int
    code: str
    name: str
    subtitle: str
    category_id: int | None
    status: str
    description: str | None
    images: list[str]
    spec_names: list[str]
    sort_weight: int
    created_at: datetime
    updated_at: datetime
    skus: list[SkuOut]


class ProductSummaryOut(BaseModel):
    id: int
    code: str
    name: str
    category_id: int | None
    status: str
    sku_count: int
    min_sale_price: int | None
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductSummaryOut]
    # Pass back as ?cursor= for the next page; null on the last page.
    next_cursor: str | None


class StorePriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: int = Field(ge=0, le=MAX_PRICE_FEN)
    is_listed: bool = True


class StorePriceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku_id: int
    location_id: int
    price: int
    is_listed: bool


class StorePriceList(BaseModel):
    items: list[StorePriceOut]


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    kind: LocationKind = LocationKind.STORE
    city: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=32)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    opening_hours: str = Field(default="", max_length=64)
    is_active: bool = True
    accepts_pickup: bool = True
    ships_online: bool = False
    fulfilment_priority: int = Field(default=100, ge=0, le=10_000)


class LocationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, min_length=1, max_length=32)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: LocationKind | None = None
    city: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=32)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    opening_hours: str | None = Field(default=None, max_length=64)
    is_active: bool | None = None
    accepts_pickup: bool | None = None
    ships_online: bool | None = None
    fulfilment_priority: int | None = Field(default=None, ge=0, le=10_000)


class LocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: str
    city: str
    address: str
    phone: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    is_active: bool
    accepts_pickup: bool
    ships_online: bool
    fulfilment_priority: int


class LocationList(BaseModel):
    items: list[LocationOut]


class StockLevelOut(BaseModel):
    sku_id: int
    location_id: int
    on_hand: int
    reserved: int
    available: int


class StockLevelList(BaseModel):
    items: list[StockLevelOut]


class StockReceiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: RowId
    location_id: int
    quantity: int = Field(ge=1, le=1_000_000)
    reason: str = Field(default="", max_length=200)


class StockAdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: RowId
    location_id: int
    # Signed: +3 found in the back room, -2 damaged.
    delta: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)


class StockMovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku_id: int
    location_id: int
    kind: StockMovementKind
    quantity: int
    order_id: int | None
    reason: str
    actor: str
    created_at: datetime


class StockMovementPage(BaseModel):
    items: list[StockMovementOut]
    next_cursor: str | None


class LedgerMismatchOut(BaseModel):
    sku_id: int
    location_id: int
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int


class LedgerAuditOut(BaseModel):
    # True when replaying every movement reproduces every level exactly.
    consistent: bool
    mismatches: list[LedgerMismatchOut]


class StoreAvailabilityOut(BaseModel):
    """A store that has the SKU, for staff: exact counts."""

    location_id: int
    code: str
    name: str
    city: str
    address: str
    opening_hours: str
    distance_km: float | None
    available: int
    unit_price: int


class AvailabilityList(BaseModel):
    sku_id: int
    quantity: int
    items: list[StoreAvailabilityOut]
