"""砍价 bargain and 助力 assist (issue 6 §4–5): a deal per campaign, one row per
initiator's attempt, one row per help.

Both mechanics share the helper rules (``siyu.campaigns.helping``): an identified
helper, once per bargain/assist, never their own, at most M helps a day
(``HelperDailyTally``), and a follow-up coupon for every helper in the same
transaction. Counters that race (current price, helper count, assist count, stock)
move only by conditional UPDATEs; the CheckConstraints below are the last line.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class BargainStatus(StrEnum):
    ACTIVE = "active"  # helpers may cut; the initiator may buy at the current price
    REACHED = "reached"  # the floor is reached: no more cuts, buy at the floor
    ORDERED = "ordered"  # an order was placed and awaits payment
    PURCHASED = "purchased"  # the order was paid
    EXPIRED = "expired"  # the deadline passed without a purchase (set lazily)


# One live bargain per deal per customer: the partial unique index below.
LIVE_BARGAIN_STATUSES = (BargainStatus.ACTIVE, BargainStatus.REACHED, BargainStatus.ORDERED)
_LIVE_SQL = "status IN ('active', 'reached', 'ordered')"


class BargainDeal(TimestampMixin, Base):
    """A bargain campaign's settings: one SKU cut from its start price to a floor."""

    __tablename__ = "bargain_deal"
    __table_args__ = (
        CheckConstraint("floor_price >= 0", name="floor_not_negative"),
        # Every helper cuts at least one fen, so the gap must cover K helpers.
        CheckConstraint("start_price - floor_price >= expected_helpers", name="gap_covers_helpers"),
        CheckConstraint("expected_helpers BETWEEN 1 AND 100", name="helpers_in_range"),
        CheckConstraint("daily_help_limit >= 1", name="daily_limit_positive"),
        CheckConstraint("time_limit_minutes >= 1", name="time_limit_positive"),
        CheckConstraint("stock_left >= 0 AND stock_left <= stock_total", name="stock_in_range"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), unique=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    # Fen. The SKU's price when the deal was made; the checkout never charges more
    # than the line's price at the time of purchase either.
    start_price: Mapped[int]
    floor_price: Mapped[int]
    # K: the floor is reached after exactly this many helps (the cut plan sums to the gap).
    expected_helpers: Mapped[int]
    # M: helps per helper per day across all bargains (HelperDailyTally "bargain").
    daily_help_limit: Mapped[int]
    # How long an initiator has from starting to buying (capped by the campaign's end).
    time_limit_minutes: Mapped[int]
    # Every helper gets one coupon of this template (the seeds insist).
    helper_coupon_template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    # Units that may be bought through bargains of this deal (any bargain price).
    stock_total: Mapped[int]
    stock_left: Mapped[int]


class Bargain(TimestampMixin, Base):
    """One initiator's bargain. ``seed`` decides the whole cut plan (audit recomputes it)."""

    __tablename__ = "bargain"
    __table_args__ = (
        Index(
            "uq_bargain_live_per_customer",
            "deal_id",
            "customer_id",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
        Index("ix_bargain_campaign_status", "campaign_id", "status"),
        CheckConstraint("current_price >= floor_price", name="never_below_floor"),
        CheckConstraint("current_price <= start_price", name="never_above_start"),
        CheckConstraint(
            "helper_count >= 0 AND helper_count <= expected_helpers", name="helpers_in_range"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("bargain_deal.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    # Hex; random.Random(seed) draws the cut plan (siyu.campaigns.bargain.cuts).
    seed: Mapped[str] = mapped_column(String(64))
    # Snapshots of the deal at start, so a later edit never changes a running plan.
    start_price: Mapped[int]
    floor_price: Mapped[int]
    expected_helpers: Mapped[int]
    current_price: Mapped[int]
    helper_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=BargainStatus.ACTIVE)
    expires_at: Mapped[datetime]
    reached_at: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("order.id", ondelete="SET NULL"), index=True
    )
    # What the order charged per unit (the current price when it was placed).
    ordered_price: Mapped[int | None]
    purchased_at: Mapped[datetime | None]


class BargainHelp(Base):
    """One cut. ``sequence`` is the helper's place (1…K); the cut is the plan's entry."""

    __tablename__ = "bargain_help"
    __table_args__ = (
        UniqueConstraint("bargain_id", "helper_customer_id"),
        UniqueConstraint("bargain_id", "sequence"),
        CheckConstraint("cut_amount >= 1", name="cut_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    bargain_id: Mapped[int] = mapped_column(ForeignKey("bargain.id", ondelete="CASCADE"))
    helper_customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    sequence: Mapped[int]
    cut_amount: Mapped[int]
    price_after: Mapped[int]
    # The helper's follow-up benefit, issued in the same transaction.
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class AssistRewardKind(StrEnum):
    COUPON = "coupon"  # issued at once when the assist unlocks
    GIFT = "gift"  # a SKU claimed as a 0-yuan order (0 元领)


class AssistStatus(StrEnum):
    ACTIVE = "active"  # collecting assists
    UNLOCKED = "unlocked"  # N assists reached; a coupon is already issued, a gift awaits claim
    CLAIMED = "claimed"  # the gift's 0-yuan order was placed
    EXPIRED = "expired"


LIVE_ASSIST_STATUSES = (AssistStatus.ACTIVE, AssistStatus.UNLOCKED)
_LIVE_ASSIST_SQL = "status IN ('active', 'unlocked')"


class AssistDeal(TimestampMixin, Base):
    """An assist campaign's settings: N friends unlock a coupon or a gift."""

    __tablename__ = "assist_deal"
    __table_args__ = (
        CheckConstraint("required_assists BETWEEN 1 AND 100", name="assists_in_range"),
        CheckConstraint("daily_help_limit >= 1", name="daily_limit_positive"),
        CheckConstraint("time_limit_minutes >= 1", name="time_limit_positive"),
        CheckConstraint(
            "reward_stock_left >= 0 AND reward_stock_left <= reward_stock_total",
            name="stock_in_range",
        ),
        CheckConstraint(
            "(reward_kind = 'coupon' AND reward_coupon_template_id IS NOT NULL)"
            " OR (reward_kind = 'gift' AND gift_sku_id IS NOT NULL)",
            name="reward_named",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), unique=True
    )
    required_assists: Mapped[int]
    reward_kind: Mapped[str] = mapped_column(String(16))
    reward_coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    gift_sku_id: Mapped[int | None] = mapped_column(ForeignKey("sku.id"))
    # Rewards are taken at unlock: a started assist does not hold one.
    reward_stock_total: Mapped[int]
    reward_stock_left: Mapped[int]
    daily_help_limit: Mapped[int]
    time_limit_minutes: Mapped[int]
    helper_coupon_template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))


class Assist(TimestampMixin, Base):
    __tablename__ = "assist"
    __table_args__ = (
        Index(
            "uq_assist_live_per_customer",
            "deal_id",
            "customer_id",
            unique=True,
            sqlite_where=text(_LIVE_ASSIST_SQL),
            postgresql_where=text(_LIVE_ASSIST_SQL),
        ),
        Index("ix_assist_campaign_status", "campaign_id", "status"),
        CheckConstraint(
            "assist_count >= 0 AND assist_count <= required_assists", name="assists_in_range"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("assist_deal.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    required_assists: Mapped[int]
    assist_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=AssistStatus.ACTIVE)
    expires_at: Mapped[datetime]
    unlocked_at: Mapped[datetime | None]
    reward_coupon_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon.id", ondelete="SET NULL")
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("order.id", ondelete="SET NULL"), index=True
    )
    claimed_at: Mapped[datetime | None]


class AssistHelp(Base):
    __tablename__ = "assist_help"
    __table_args__ = (
        UniqueConstraint("assist_id", "helper_customer_id"),
        UniqueConstraint("assist_id", "sequence"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    assist_id: Mapped[int] = mapped_column(ForeignKey("assist.id", ondelete="CASCADE"))
    helper_customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    sequence: Mapped[int]
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupon.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
