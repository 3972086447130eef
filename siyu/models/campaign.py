"""The campaign registry: one row per campaign, whatever its mechanic.

Analytics (ROI against a holdout) and the operations diagnosis grid (touchpoint ×
lifecycle stage) read this one table, so every mechanic — flash sale, group buy,
bargain, assist, lottery, referral — registers here and keeps only its mechanic's
own settings and state in its own tables, which point back with ``campaign_id``.

The phase (warm-up / live / closing / ended) is derived from the dates and the
clock, never stored, so it cannot go stale: ``siyu.campaigns.registry.phases``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class CampaignKind(StrEnum):
    FLASH_SALE = "flash_sale"  # 秒杀
    GROUP_BUY = "group_buy"  # 拼团
    BARGAIN = "bargain"  # 砍价
    ASSIST = "assist"  # 助力 / 0 元领
    LOTTERY = "lottery"  # 抽奖
    REFERRAL = "referral"  # 分销


class LifecycleStage(StrEnum):
    ACQUIRE = "acquire"  # 拉新
    RETAIN = "retain"  # 留存
    CONVERT = "convert"  # 转化
    REFER = "refer"  # 裂变
    RECALL = "recall"  # 召回


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # being set up: invisible to customers
    PUBLISHED = "published"  # follows its phases by date
    CANCELLED = "cancelled"  # stopped by an operator before its end


class Campaign(TimestampMixin, Base):
    __tablename__ = "campaign"
    __table_args__ = (
        Index("ix_campaign_kind_starts", "kind", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("warmup_at IS NULL OR warmup_at <= starts_at", name="warmup_before_start"),
        CheckConstraint("closes_at IS NULL OR closes_at >= ends_at", name="closes_after_end"),
        CheckConstraint("holdout_percent BETWEEN 0 AND 50", name="holdout_in_range"),
        CheckConstraint("budget_amount IS NULL OR budget_amount >= 0", name="budget_not_negative"),
        CheckConstraint("fixed_cost_amount >= 0", name="fixed_cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Shown in share links and storefront URLs.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    # Where it runs: "mp", "oa", "wecom", "community", "store", "h5" … (see registry.TOUCHPOINTS).
    touchpoints: Mapped[list[str]] = mapped_column(default=list)
    lifecycle_stage: Mapped[str] = mapped_column(String(16))
    # Fen; what the operator allows it to cost (discounts, prizes, commissions). NULL: none set.
    budget_amount: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT)
    # Phases: warm-up [warmup_at, starts_at) → live [starts_at, ends_at) → closing
    # [ends_at, closes_at) (orders finish, groups settle, no new entries) → ended.
    warmup_at: Mapped[datetime | None]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # Share of eligible customers deliberately left out (0–50), for ROI against a
    # holdout; membership is a stable hash of (campaign, customer).
    holdout_percent: Mapped[int] = mapped_column(default=0)
    # Fen the brand spent outside siyu (design, ads, staff time), entered by the operator;
    # campaign ROI adds it to the costs siyu records itself (docs/analytics.md).
    fixed_cost_amount: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64), default="")


class HelperDailyTally(Base):
    """How many times a customer helped (砍价 cuts, 助力 assists) on one day.

    Bargain and assist share the "at most M helps per day" rule; the count moves by a
    conditional UPDATE (``helps + 1 <= :limit``) after an insert-or-nothing, so racing
    helps from one customer never exceed the limit."""

    __tablename__ = "helper_daily_tally"
    __table_args__ = (CheckConstraint("helps >= 0", name="helps_not_negative"),)

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    # The day in the brand's time zone (settings.timezone), as bargain/assist count it.
    day: Mapped[date] = mapped_column(primary_key=True)
    # "bargain" or "assist": each mechanic has its own daily limit.
    mechanic: Mapped[str] = mapped_column(String(16), primary_key=True)
    helps: Mapped[int] = mapped_column(default=0)
