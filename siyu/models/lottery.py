"""抽奖 lottery: a prize table per campaign, per-day chance tallies and the draw record.

A lottery is a campaign of kind ``lottery`` in the registry (``campaign``) plus one
``lottery`` row with its rules and one ``lottery_prize`` row per prize. Every limit
moves by a conditional UPDATE, never by counting rows first:

* a prize's ``stock_left`` only falls while it is above zero (``stock_left > 0``), so
  racing winners of the last unit get exactly one prize between them;
* a customer's ``lottery_tally.draws`` only grows while below the day's chances, so
  racing draws from one customer never exceed them.

Each draw is written to ``lottery_draw`` with the random value, the prize table's
version and hash, what the value pointed at, what was granted and why (a prize that
ran out falls to "thanks" and says so): an auditor can replay every result.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin

# Probabilities are basis points of 10,000; what the prizes leave over is "thanks".
PROBABILITY_SCALE = 10_000


class PrizeKind(StrEnum):
    COUPON = "coupon"  # a coupon issued through siyu.coupons.issuing
    POINTS = "points"  # points earned through siyu.members.points
    GOODS = "goods"  # a 0-yuan order the winner claims with an address
    THANKS = "thanks"  # 谢谢参与: nothing granted


class DrawOutcome(StrEnum):
    WON = "won"
    THANKS = "thanks"  # the value landed on "thanks"
    # The value landed on a prize whose stock had run out (or could not be granted):
    # the draw falls to thanks and the record says which prize and why.
    FELL_BACK = "fell_back"


class ClaimStatus(StrEnum):
    PENDING = "pending"  # a goods prize waiting for the winner's address
    CLAIMED = "claimed"  # its 0-yuan order is placed


class Lottery(TimestampMixin, Base):
    __tablename__ = "lottery"
    __table_args__ = (
        CheckConstraint("chances_per_day >= 1", name="chances_positive"),
        CheckConstraint("member_day_extra_chances >= 0", name="extra_not_negative"),
        CheckConstraint("points_cost >= 0", name="points_cost_not_negative"),
        CheckConstraint("claim_days >= 1", name="claim_days_positive"),
        CheckConstraint("prize_table_version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), unique=True
    )
    # Draws a customer may make per day (the shop's time zone) …
    chances_per_day: Mapped[int] = mapped_column(default=1)
    # … plus these on the member day (siyu.members.program member_day, the member's zone).
    member_day_extra_chances: Mapped[int] = mapped_column(default=0)
    # Points spent on every draw; 0 = free.
    points_cost: Mapped[int] = mapped_column(default=0)
    # Days a goods winner has to confirm an address.
    claim_days: Mapped[int] = mapped_column(default=7)
    # Bumped whenever the prize table changes; each draw records the version and the
    # hash of the table it was drawn against.
    prize_table_version: Mapped[int] = mapped_column(default=1)
    prize_table_hash: Mapped[str] = mapped_column(String(64), default="")


class LotteryPrize(TimestampMixin, Base):
    __tablename__ = "lottery_prize"
    __table_args__ = (
        Index("ix_lottery_prize_lottery_position", "lottery_id", "position", unique=True),
        CheckConstraint("probability BETWEEN 0 AND 10000", name="probability_in_range"),
        CheckConstraint("stock_left >= 0", name="stock_not_negative"),
        CheckConstraint("stock_left <= stock_total", name="stock_within_total"),
        CheckConstraint("value_amount >= 0", name="value_not_negative"),
        CheckConstraint(
            "(kind = 'coupon' AND coupon_template_id IS NOT NULL)"
            " OR (kind = 'points' AND points_amount > 0)"
            " OR (kind = 'goods' AND sku_id IS NOT NULL)"
            " OR kind = 'thanks'",
            name="kind_has_its_reward",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lottery.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # The slot on the wheel (0 …), in the order the operator listed the prizes.
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16))
    # Basis points of 10,000.
    probability: Mapped[int]
    # Thanks slots have no stock to run out: both stay 0 for them.
    stock_total: Mapped[int] = mapped_column(default=0)
    stock_left: Mapped[int] = mapped_column(default=0)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    points_amount: Mapped[int | None]
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("sku.id"))
    # Fen one prize costs the brand (coupon face value, goods price …), for the cost counter.
    value_amount: Mapped[int] = mapped_column(default=0)


class LotteryTally(Base):
    """Draws one customer made in one lottery on one day."""

    __tablename__ = "lottery_tally"
    __table_args__ = (CheckConstraint("draws >= 0", name="draws_not_negative"),)

    lottery_id: Mapped[int] = mapped_column(
        ForeignKey("lottery.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    draws: Mapped[int] = mapped_column(default=0)


class LotteryDraw(Base):
    """One draw, written once (a goods claim later sets its claim fields): the audit record."""

    __tablename__ = "lottery_draw"
    __table_args__ = (
        Index("ix_lottery_draw_campaign_id", "campaign_id", "id"),
        Index("ix_lottery_draw_customer_campaign", "customer_id", "campaign_id"),
        CheckConstraint("random_value BETWEEN 0 AND 9999", name="random_in_range"),
        CheckConstraint("points_cost >= 0", name="points_cost_not_negative"),
        CheckConstraint("value_amount >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lottery.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    day: Mapped[date]
    # secrets.randbelow(10000): the slot it falls in decides the prize.
    random_value: Mapped[int]
    prize_table_version: Mapped[int]
    prize_table_hash: Mapped[str] = mapped_column(String(64))
    # What the random value pointed at (NULL: the unassigned "thanks" remainder) …
    drawn_prize_id: Mapped[int | None] = mapped_column(
        ForeignKey("lottery_prize.id", ondelete="SET NULL")
    )
    # … and what was granted (NULL unless outcome is "won").
    prize_id: Mapped[int | None] = mapped_column(
        ForeignKey("lottery_prize.id", ondelete="SET NULL")
    )
    outcome: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    prize_name: Mapped[str] = mapped_column(String(60))
    # Why a draw fell back: "out_of_stock", or the granting error's code.
    fallback_reason: Mapped[str | None] = mapped_column(String(60))
    # {"coupon_id", "coupon_code"} | {"points", "points_entry_id"} | {"sku_id"} | {}.
    granted: Mapped[dict[str, Any]] = mapped_column(default=dict)
    points_cost: Mapped[int] = mapped_column(default=0)
    value_amount: Mapped[int] = mapped_column(default=0)
    claim_status: Mapped[str | None] = mapped_column(String(16))
    claim_deadline: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
