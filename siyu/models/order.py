"""Carts, orders, order lines and the order state history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Fulfilment(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"  # 线下自提


class OrderSource(StrEnum):
    MALL = "mall"  # the mini-program / H5 storefront
    STORE = "store"  # a store's till or a guide's order
    IMPORT = "import"  # historical orders loaded by `siyu import transactions`


class CartItem(Base):
    """One SKU in a customer's cart; the cart is the set of a customer's rows."""

    __tablename__ = "cart_item"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"), primary_key=True)
    quantity: Mapped[int]
    # Unselected items stay in the cart but are left out of checkout.
    is_selected: Mapped[bool] = mapped_column(default=True)
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Order(TimestampMixin, Base):
    __tablename__ = "order"
    __table_args__ = (
        Index("ix_order_customer_created", "customer_id", "created_at"),
        Index("ix_order_status_deadline", "status", "payment_deadline"),
        Index("ix_order_paid_at", "paid_at"),
        # The warehouse exporter's watermark (siyu/warehouse): what changed since.
        Index("ix_order_updated_at", "updated_at"),
        UniqueConstraint("source", "external_id"),
        CheckConstraint(
            "total_amount = items_amount - discount_amount + shipping_amount",
            name="total_is_sum",
        ),
        CheckConstraint("refunded_amount <= paid_amount", name="refund_within_paid"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Shown to customers and in URLs; the integer id never leaves the server.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    status: Mapped[str] = mapped_column(String(24), default=OrderStatus.PENDING_PAYMENT)
    # While refunding: the status to return to when the refund is rejected or partial.
    resume_status: Mapped[str | None] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16), default=OrderSource.MALL)
    # The id in the source system (imports); NULL for orders placed in siyu.
    external_id: Mapped[str | None] = mapped_column(String(64))
    # "mall" or "store": which channel's assortment and prices applied.
    sales_channel: Mapped[str] = mapped_column(String(16), default="mall")
    fulfilment: Mapped[str] = mapped_column(String(16), default=Fulfilment.DELIVERY)
    pickup_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    # Money in fen: total = items - discount + shipping, and equals Σ line payable.
    items_amount: Mapped[int] = mapped_column(default=0)
    discount_amount: Mapped[int] = mapped_column(default=0)
    shipping_amount: Mapped[int] = mapped_column(default=0)
    total_amount: Mapped[int] = mapped_column(default=0)
    paid_amount: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)
    item_count: Mapped[int] = mapped_column(default=0)
    # Which pipeline steps ran, in order, e.g. ["base_price", "shipping"].
    pricing_steps: Mapped[list[str]] = mapped_column(default=list)
    # Attribution, copied from the request context at checkout.
    touchpoint: Mapped[str | None] = mapped_column(String(32))
    channel_code_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    guide_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    campaign_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    referrer_customer_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    store_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    # Delivery address (recipient, phone, region, street) encrypted as one JSON document.
    shipping_address_encrypted: Mapped[str | None] = mapped_column(Text)
    customer_note: Mapped[str] = mapped_column(String(200), default="")
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    payment_deadline: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(64))
    # Set when the return window has passed: no more refunds; points unfreeze.
    final_at: Mapped[datetime | None]


class OrderLine(Base):
    """A line's prices are frozen at checkout. ``price_breakdown`` lists every pipeline
    step's effect on this line, so a partial refund knows exactly what each unit cost:
    payable = base - discount + shipping = Σ breakdown amounts."""

    __tablename__ = "order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "payable_amount = base_amount - discount_amount + shipping_amount",
            name="payable_is_sum",
        ),
        CheckConstraint("refunded_quantity <= quantity", name="refund_within_quantity"),
        CheckConstraint("refunded_amount <= payable_amount", name="refund_within_payable"),
        Index("ix_order_line_sku", "sku_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("sku.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"))
    category_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    # Snapshots: what the customer bought, whatever the catalog says later.
    product_name: Mapped[str] = mapped_column(String(120))
    sku_code: Mapped[str] = mapped_column(String(64), default="")
    specs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    image: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int]
    unit_list_price: Mapped[int]
    # The base unit price after the store override (before any discount step).
    unit_price: Mapped[int]
    base_amount: Mapped[int]
    discount_amount: Mapped[int] = mapped_column(default=0)
    shipping_amount: Mapped[int] = mapped_column(default=0)
    payable_amount: Mapped[int]
    # [{"step": "base_price", "kind": "sale_price", "amount": 12900, "label": "…"}, …]
    price_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # Where this line's stock is reserved and shipped from (NULL for imports).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    refunded_quantity: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)


class OrderTransition(Base):
    """Every status change with who made it and why; the console shows this history."""

    __tablename__ = "order_transition"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    # "customer", "staff:<username>", "job:<task>", "payment:<provider>".
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
