"""Coupon templates, the coupons issued from them, and per-customer claim tallies.

Every limit is enforced by a conditional UPDATE on a counter (``issued_count`` on
the template, ``claimed_total``/``claimed_today`` on the tally), never by counting
rows first, so 10,000 racing claims on a template of 5,000 issue exactly 5,000.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class CouponKind(StrEnum):
    THRESHOLD = "threshold"  # 满减: spend ≥ threshold_amount, take discount_amount off
    PERCENT_OFF = "percent_off"  # 折扣: pay discount_rate‱, at most max_discount_amount off
    NO_THRESHOLD = "no_threshold"  # 无门槛: discount_amount off anything
    GIFT = "gift"  # 兑换: one unit of gift_sku_id free
    FREE_SHIPPING = "free_shipping"


class CouponScope(StrEnum):
    ALL = "all"
    CATEGORIES = "categories"
    PRODUCTS = "products"
    STORES = "stores"


class ValidityKind(StrEnum):
    FIXED = "fixed"  # valid_from … valid_until
    RELATIVE = "relative"  # valid_days after claim


class TemplateStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"  # no new issues; issued coupons still work
    ENDED = "ended"


class CouponTemplate(TimestampMixin, Base):
    __tablename__ = "coupon_template"
    __table_args__ = (
        CheckConstraint("issued_count >= 0", name="issued_not_negative"),
        CheckConstraint(
            "total_quantity IS NULL OR issued_count <= total_quantity", name="issued_within_total"
        ),
        CheckConstraint("threshold_amount >= 0", name="threshold_not_negative"),
        CheckConstraint("discount_amount >= 0", name="discount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    threshold_amount: Mapped[int] = mapped_column(default=0)  # fen
    discount_amount: Mapped[int] = mapped_column(default=0)  # fen
    discount_rate: Mapped[int | None]  # basis points paid, e.g. 8500 = 85折
    max_discount_amount: Mapped[int | None]  # fen cap for percent-off
    gift_sku_id: Mapped[int | None] = mapped_column(ForeignKey("sku.id"))
    scope: Mapped[str] = mapped_column(String(16), default=CouponScope.ALL)
    scope_ids: Mapped[list[int]] = mapped_column(default=list)
    # ["mall"], ["store"] or both.
    channels: Mapped[list[str]] = mapped_column(default=lambda: ["mall", "store"])
    validity: Mapped[str] = mapped_column(String(16), default=ValidityKind.FIXED)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    valid_days: Mapped[int | None]
    # Claim window for the coupon centre and links; NULL = while active.
    claim_starts_at: Mapped[datetime | None]
    claim_ends_at: Mapped[datetime | None]
    total_quantity: Mapped[int | None]  # NULL = unlimited
    issued_count: Mapped[int] = mapped_column(default=0)
    per_customer_limit: Mapped[int | None]
    per_day_limit: Mapped[int | None]
    # Listed in the coupon centre; others are issued by link, guide, grant or benefit.
    in_coupon_centre: Mapped[bool] = mapped_column(default=False)
    min_tier_rank: Mapped[int | None]  # tier-exclusive
    # Stacking rules (data, shown to operators): on campaign-priced lines?
    allow_on_campaign_price: Mapped[bool] = mapped_column(default=False)
    # Coupon kinds this one may be combined with in one order; [] = alone.
    stackable_with: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default=TemplateStatus.DRAFT)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class CouponStatus(StrEnum):
    AVAILABLE = "available"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class CouponSource(StrEnum):
    CLAIM = "claim"  # coupon centre
    LINK = "link"  # a share link
    AUTO = "auto"  # tier benefit, a journey
    BENEFIT = "benefit"  # member day, birthday, anniversary
    GUIDE = "guide"  # sent by a guide
    GRANT = "grant"  # bulk grant to an audience
    POINTS_MALL = "points_mall"


class Coupon(Base):
    """One issued coupon. ``code`` is what the customer shows at the till (核销)."""

    __tablename__ = "coupon"
    __table_args__ = (
        Index("ix_coupon_customer_status", "customer_id", "status", "valid_until"),
        Index("ix_coupon_template_status", "template_id", "status"),
        Index("ix_coupon_expiry", "status", "valid_until"),
        Index("ix_coupon_order", "order_id"),
        # The warehouse exporter's watermark (siyu/warehouse): what was claimed since.
        Index("ix_coupon_claimed_at", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=CouponStatus.AVAILABLE)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(80))
    issued_by: Mapped[str] = mapped_column(String(64), default="system")
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    claimed_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    # Offline write-off: where and by whom.
    used_store_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    redeemed_by: Mapped[str | None] = mapped_column(String(64))
    # What it took off the order (fen), for the template's discount-cost statistics.
    discount_amount: Mapped[int] = mapped_column(default=0)
    reminded_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]


class CouponTally(Base):
    """Claims per customer per template (total and on ``day``, in the shop's time zone)."""

    __tablename__ = "coupon_tally"

    template_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_template.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    claimed_total: Mapped[int] = mapped_column(default=0)
    day: Mapped[date]
    claimed_on_day: Mapped[int] = mapped_column(default=0)
