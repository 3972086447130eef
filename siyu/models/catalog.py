"""Catalog: categories, products (SPU), SKUs and per-store prices (千店千面)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ON_SALE = "on_sale"
    OFF = "off"


class SalesChannel(StrEnum):
    """Where a SKU may be sold: the mini-program mall, the stores' tills, or both."""

    MALL = "mall"
    STORE = "store"


class Category(TimestampMixin, Base):
    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(64))
    # Lower sorts first; the storefront lists categories in this order.
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class Product(TimestampMixin, Base):
    """A product (SPU): what the customer sees; its SKUs are what is stocked and sold."""

    __tablename__ = "product"
    __table_args__ = (Index("ix_product_status_category", "status", "category_id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Brand-facing code (货号), unique; shown in the console and used by imports.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT)
    description: Mapped[str | None] = mapped_column(Text)
    # Image URLs, the first is the cover.
    images: Mapped[list[str]] = mapped_column(default=list)
    # Spec names in display order, e.g. ["颜色", "规格"]; each SKU gives a value for each.
    spec_names: Mapped[list[str]] = mapped_column(default=list)
    # Storefront ordering: higher first on the home page's hot list.
    sort_weight: Mapped[int] = mapped_column(default=0)


class Sku(TimestampMixin, Base):
    __tablename__ = "sku"
    __table_args__ = (
        CheckConstraint("list_price >= 0 AND sale_price >= 0", name="prices_not_negative"),
        CheckConstraint("per_order_limit > 0", name="per_order_limit_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    # Barcode or brand SKU code, unique across the catalog.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # {"颜色": "正红", "规格": "3.5g"}, keys from the product's spec_names.
    specs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Money in fen. list_price is the crossed-out 划线价; sale_price is what it sells for.
    list_price: Mapped[int]
    sale_price: Mapped[int]
    # Channel-exclusive SKUs are normal: ["mall"], ["store"] or both.
    channels: Mapped[list[str]] = mapped_column(default=lambda: ["mall", "store"])
    is_active: Mapped[bool] = mapped_column(default=True)
    per_order_limit: Mapped[int] = mapped_column(default=99)
    # Grams, for shipping rules that later weigh parcels; 0 when unknown.
    weight_grams: Mapped[int] = mapped_column(default=0)
    image: Mapped[str | None] = mapped_column(String(500))


class StorePrice(TimestampMixin, Base):
    """A store's own price for a SKU (千店千面); replaces sale_price for that store."""

    __tablename__ = "store_price"
    __table_args__ = (
        UniqueConstraint("sku_id", "location_id"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    price: Mapped[int]
    # False hides the SKU in that store (per-store assortment) without deleting the price.
    is_listed: Mapped[bool] = mapped_column(default=True)
