"""Membership: tiers, growth value, the points ledger, benefits and the points mall.

Balances live on ``membership`` and change in the same transaction as the ledger
row that explains them, always through one conditional UPDATE (no read-then-write),
so a balance read is O(1) and concurrent spends can never overdraw. ``siyu points
audit`` replays the ledger to prove every balance.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class MemberTier(TimestampMixin, Base):
    """One rung of the ladder (普通 / 银卡 / 金卡 / 黑金). ``rank`` orders them; the
    customer's tier is the highest whose ``growth_threshold`` their growth reaches."""

    __tablename__ = "member_tier"
    __table_args__ = (
        CheckConstraint("growth_threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("discount_rate > 0 AND discount_rate <= 10000", name="discount_rate_range"),
        CheckConstraint("points_multiplier >= 0", name="multiplier_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64), default="")
    rank: Mapped[int] = mapped_column(unique=True)
    growth_threshold: Mapped[int] = mapped_column(unique=True)
    # Price paid in basis points of the price: 10000 = no discount, 9500 = 95折.
    discount_rate: Mapped[int] = mapped_column(default=10000)
    # Percent: 100 = 1×, 150 = 1.5× points per yuan.
    points_multiplier: Mapped[int] = mapped_column(default=100)
    # Overrides the shop's threshold when lower; NULL = the shop's.
    free_shipping_threshold: Mapped[int | None]
    birthday_points: Mapped[int] = mapped_column(default=0)
    birthday_coupon_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_template.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="")


class MemberProgram(Base):
    """The program's rules as one validated document (growth per yuan, task growth,
    points earn/spend/expiry, member day, birthday/anniversary, refund policy).
    A single row (id = 1): the rules change rarely and are read as a whole."""

    __tablename__ = "member_program"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class Membership(TimestampMixin, Base):
    """A customer's membership; created on first need (earn, claim, join)."""

    __tablename__ = "membership"
    __table_args__ = (
        CheckConstraint("points_balance >= 0", name="points_not_negative"),
        CheckConstraint("points_frozen >= 0", name="frozen_not_negative"),
        CheckConstraint("growth_value >= 0", name="growth_not_negative"),
        Index("ix_membership_tier", "tier_id"),
        # The warehouse exporter's watermark (siyu/warehouse): what changed since.
        Index("ix_membership_updated_at", "updated_at"),
    )

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    tier_id: Mapped[int] = mapped_column(ForeignKey("member_tier.id"))
    growth_value: Mapped[int] = mapped_column(default=0)
    # Spendable points; frozen points were earned on orders still inside the return window.
    points_balance: Mapped[int] = mapped_column(default=0)
    points_frozen: Mapped[int] = mapped_column(default=0)
    joined_at: Mapped[datetime]
    # IANA name; birthday/anniversary/member-day benefits follow the customer's calendar.
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    tier_changed_at: Mapped[datetime | None]
    # When the tier was last reviewed for a downgrade (the periodic review).
    tier_reviewed_at: Mapped[datetime | None]
    # Growth gained since the last review: the review keeps the tier this earns.
    period_growth: Mapped[int] = mapped_column(default=0)


class PointsEntryKind(StrEnum):
    EARN = "earn"
    SPEND = "spend"
    EXPIRE = "expire"
    ADJUST = "adjust"
    REVERSE = "reverse"


class PointsEntryStatus(StrEnum):
    AVAILABLE = "available"
    # Earned on an order still inside its return window; becomes available when the
    # order is final. The only change an entry ever sees after insert.
    FROZEN = "frozen"


class PointsEntry(Base):
    """Append-only points ledger.

    points_balance = Σ amount of available entries; points_frozen = Σ amount of
    frozen entries. Positive entries are lots: ``remaining`` is what is left of them
    for FIFO spending and expiry (``expires_at``)."""

    __tablename__ = "points_entry"
    __table_args__ = (
        UniqueConstraint("customer_id", "kind", "reference"),
        Index("ix_points_entry_customer", "customer_id", "id"),
        Index("ix_points_entry_lots", "expires_at", "remaining"),
        Index("ix_points_entry_order", "order_id"),
        # The warehouse exporter's watermark (siyu/warehouse).
        Index("ix_points_entry_created_at", "created_at"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=PointsEntryStatus.AVAILABLE)
    amount: Mapped[int]
    remaining: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None]
    # Available balance right after this entry (history shows a running balance).
    balance_after: Mapped[int] = mapped_column(default=0)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    # Idempotency and reversal key, e.g. "order:42", "refund:7", "exchange:3".
    reference: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime]


class GrowthEntry(Base):
    """Append-only growth-value ledger; ``membership.growth_value`` = Σ amount."""

    __tablename__ = "growth_entry"
    __table_args__ = (
        UniqueConstraint("customer_id", "source", "reference"),
        Index("ix_growth_entry_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    # order / refund / task / adjust
    source: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]
    reference: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime]


class TierChange(Base):
    __tablename__ = "tier_change"
    __table_args__ = (Index("ix_tier_change_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    from_tier_id: Mapped[int | None] = mapped_column(ForeignKey("member_tier.id"))
    to_tier_id: Mapped[int] = mapped_column(ForeignKey("member_tier.id"))
    # upgrade / review / adjust / join
    reason: Mapped[str] = mapped_column(String(16))
    growth_value: Mapped[int]
    created_at: Mapped[datetime]


class BenefitKind(StrEnum):
    MEMBER_DAY = "member_day"
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"


class BenefitGrant(Base):
    """A benefit given once per period: the unique key makes the daily job safe to
    re-run and to race."""

    __tablename__ = "benefit_grant"
    __table_args__ = (UniqueConstraint("customer_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # "2026" for yearly benefits, "2026-11" for the member day.
    period: Mapped[str] = mapped_column(String(16))
    # What was given: {"points": 200, "coupon_ids": [...]}.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    local_date: Mapped[date]
    created_at: Mapped[datetime]


class PointsMallItemKind(StrEnum):
    GOODS = "goods"
    COUPON = "coupon"


class PointsMallItem(TimestampMixin, Base):
    """Something to exchange points (or points + cash) for."""

    __tablename__ = "points_mall_item"
    __table_args__ = (
        CheckConstraint("points_price >= 0", name="points_price_not_negative"),
        CheckConstraint("cash_price >= 0", name="cash_price_not_negative"),
        CheckConstraint("stock_left >= 0", name="stock_left_not_negative"),
        CheckConstraint("stock_left <= stock_total", name="stock_left_within_total"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(String(500))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("sku.id"))
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    points_price: Mapped[int]
    cash_price: Mapped[int] = mapped_column(default=0)  # fen
    stock_total: Mapped[int]
    stock_left: Mapped[int]
    per_member_limit: Mapped[int | None]
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    min_tier_rank: Mapped[int | None]
    # draft / active / off
    status: Mapped[str] = mapped_column(String(16), default="draft")
    sort: Mapped[int] = mapped_column(default=0)


class PointsExchangeStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"  # points + cash: waiting for the cash
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PointsExchange(Base):
    __tablename__ = "points_exchange"
    __table_args__ = (
        Index("ix_points_exchange_customer", "customer_id", "id"),
        Index("ix_points_exchange_item_customer", "item_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("points_mall_item.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(default=1)
    points: Mapped[int]
    cash_amount: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(24))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PointsMallTally(Base):
    """Exchanges per member per item: the per-member limit is one conditional UPDATE."""

    __tablename__ = "points_mall_tally"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("points_mall_item.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    exchanged: Mapped[int] = mapped_column(default=0)
