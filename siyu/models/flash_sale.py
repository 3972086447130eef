"""Flash sale (秒杀): sessions inside a campaign, the SKUs each sells, reservations.

A campaign (``campaign``, kind ``flash_sale``) holds one or more sessions (场次), each
with its own window inside the campaign's. A session sells SKUs at a campaign price
from a campaign stock of its own (never the warehouse's: the order still reserves
warehouse stock when it is written), at most ``per_customer_limit`` units each.

A buyer's click takes a unit and leaves a *reservation*; an order is written for it
shortly after (``siyu.campaigns.flash_sale.orders``). The invariant, checked by the
audit: ``stock_left + sold + reserved == starting_stock`` for every item, where
*sold* counts paid reservations and *reserved* those holding a unit without payment
(reserved or ordered). A released or failed reservation gave its unit back.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class StockEngine(StrEnum):
    DATABASE = "database"  # conditional UPDATE on flash_sale_item.stock_left
    REDIS = "redis"  # one Lua script on Redis counters; orders written by a drain


class ReservationStatus(StrEnum):
    RESERVED = "reserved"  # unit taken, order not written yet
    ORDERED = "ordered"  # order written, waiting for payment
    PAID = "paid"  # sold
    RELEASED = "released"  # order cancelled or timed out: unit returned
    FAILED = "failed"  # the order could not be written: unit returned


# Reservations that still hold a unit without having paid for it.
HOLDING = (ReservationStatus.RESERVED.value, ReservationStatus.ORDERED.value)


class FlashSaleSession(TimestampMixin, Base):
    __tablename__ = "flash_sale_session"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("customer_rate_limit >= 1", name="customer_rate_positive"),
        CheckConstraint("ip_rate_limit >= 1", name="ip_rate_positive"),
        Index("ix_flash_sale_session_campaign", "campaign_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Inside the campaign's live window (checked by the service).
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # Fixed when the session is first published or first sold from, never after:
    # moving stock between engines mid-sale would double or lose units.
    stock_engine: Mapped[str | None] = mapped_column(String(16))
    # Abuse control: reserve requests per customer / per IP in a 10-second window.
    customer_rate_limit: Mapped[int] = mapped_column(default=10)
    ip_rate_limit: Mapped[int] = mapped_column(default=300)


class FlashSaleItem(TimestampMixin, Base):
    __tablename__ = "flash_sale_item"
    __table_args__ = (
        UniqueConstraint("session_id", "sku_id", name="one_sku_per_session"),
        # The database engine's guard: a conditional UPDATE keeps it, the constraint
        # makes a bug loud instead of an oversell.
        CheckConstraint("stock_left >= 0", name="stock_not_negative"),
        CheckConstraint("stock_left <= starting_stock", name="stock_within_start"),
        CheckConstraint("campaign_price >= 0", name="price_not_negative"),
        CheckConstraint("per_customer_limit >= 1", name="limit_positive"),
        Index("ix_flash_sale_item_campaign", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("flash_sale_session.id", ondelete="CASCADE"))
    # Copied from the session so counters per campaign need no join.
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    campaign_price: Mapped[int]  # fen per unit
    starting_stock: Mapped[int]
    # Units not taken. Redis engine: moves when the drain writes a reservation, so the
    # database always tells the truth about everything drained.
    stock_left: Mapped[int]
    per_customer_limit: Mapped[int] = mapped_column(default=1)
    sort: Mapped[int] = mapped_column(default=0)


class FlashSaleTally(Base):
    """Units a customer holds of an item (reserved, ordered or bought); moved by a
    conditional upsert (``quantity + :n <= limit``) so racing clicks never pass it."""

    __tablename__ = "flash_sale_tally"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("flash_sale_item.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(default=0)


class FlashSaleReservation(TimestampMixin, Base):
    __tablename__ = "flash_sale_reservation"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_flash_sale_reservation_item_status", "item_id", "status"),
        Index("ix_flash_sale_reservation_customer", "customer_id", "created_at"),
        Index("ix_flash_sale_reservation_status", "status", "id"),
        Index("ix_flash_sale_reservation_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Made by the request before anything is written: the Redis queue carries it, and
    # the drain inserts by it (insert-or-nothing), so a replayed entry never doubles.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("flash_sale_session.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("flash_sale_item.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    unit_price: Mapped[int]  # fen, the campaign price when reserved
    engine: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.RESERVED)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    fulfilment: Mapped[str] = mapped_column(String(16), default="delivery")
    pickup_store_id: Mapped[int | None]
    # The buyer's address, AES-GCM with the app's PiiCipher (never plain text).
    address_encrypted: Mapped[str | None] = mapped_column(Text)
    touchpoint: Mapped[str | None] = mapped_column(String(32))
    # Why the order could not be written (a stable error code), for the buyer.
    failure_code: Mapped[str | None] = mapped_column(String(64))
