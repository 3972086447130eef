"""Audiences: tag groups and tag history, computed traits, segments (人群包) and
lifecycle stages.

Tags themselves (``tag``, ``customer_tag``) live in ``siyu.models.customer`` since the
customers issue; this module adds what the audience engine needs around them. Traits,
RFM scores and lifecycle stages are computed in the warehouse (DuckDB) and written
back here in bulk, so the 360 view and the console read them without DuckDB.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class TagGroup(TimestampMixin, Base):
    """A named group of tags (e.g. 肤质: 干性 / 油性 / 混合); ``tag.group_name`` names it.

    In an exclusive group a customer holds at most one tag: adding another replaces it
    (skin type, size), which is what operators expect of a "single choice" group.
    """

    __tablename__ = "tag_group"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_exclusive: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)


class TagAction(StrEnum):
    ADDED = "added"
    REMOVED = "removed"


class CustomerTagHistory(Base):
    """Every time a tag was put on or taken off a customer, and by what."""

    __tablename__ = "customer_tag_history"
    __table_args__ = (
        Index("ix_customer_tag_history_customer", "customer_id", "at"),
        Index("ix_customer_tag_history_tag", "tag_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    # Same vocabulary as customer_tag.source: "staff:<username>", "channel_code:<code>",
    # "rule:<tag id>", "rfm", "import:<file>".
    source: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class CustomerTrait(Base):
    """Computed traits of one customer (siyu.audiences.traits), one row per customer.

    Money is fen. Spend is paid minus refunded, over orders that were paid. Values
    that move with the clock alone (days since the last order) are not stored: they
    are derived from the stored times when read.
    """

    __tablename__ = "customer_trait"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    orders_30d: Mapped[int] = mapped_column(default=0)
    orders_90d: Mapped[int] = mapped_column(default=0)
    orders_365d: Mapped[int] = mapped_column(default=0)
    orders_total: Mapped[int] = mapped_column(default=0)
    spend_30d: Mapped[int] = mapped_column(default=0)
    spend_90d: Mapped[int] = mapped_column(default=0)
    spend_365d: Mapped[int] = mapped_column(default=0)
    spend_total: Mapped[int] = mapped_column(default=0)
    aov: Mapped[int] = mapped_column(default=0)
    avg_days_between_orders: Mapped[float | None]
    favourite_category_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    preferred_store_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    preferred_touchpoint: Mapped[str | None] = mapped_column(String(32))
    last_active_at: Mapped[datetime | None]
    # Share of paid orders that used a coupon, in basis points (0..10000).
    coupon_order_share: Mapped[int] = mapped_column(default=0)
    next_order_from: Mapped[date | None]
    next_order_to: Mapped[date | None]
    is_subscribed: Mapped[bool] = mapped_column(default=False)
    # Mini-program subscribe-message opt-ins not yet used by a message.
    subscribe_quota: Mapped[int] = mapped_column(default=0)
    rfm_recency: Mapped[int | None]
    rfm_frequency: Mapped[int | None]
    rfm_monetary: Mapped[int | None]
    rfm_group: Mapped[str | None] = mapped_column(String(32), index=True)
    aipl_stage: Mapped[str | None] = mapped_column(String(16), index=True)
    ops_stage: Mapped[str | None] = mapped_column(String(16), index=True)
    ops_stage_since: Mapped[datetime | None]
    computed_at: Mapped[datetime]


class AudienceConfig(Base):
    """The audience settings (one row, id 1): RFM scoring, lifecycle windows, refresh.

    The shape is validated by ``siyu.audiences`` schemas; a missing key means its
    documented default, so adding a setting never needs a migration.
    """

    __tablename__ = "audience_config"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class SegmentKind(StrEnum):
    RULE = "rule"
    STATIC = "static"


class SegmentStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Segment(TimestampMixin, Base):
    """A saved audience (人群包): a rule refreshed on a schedule, or a static list."""

    __tablename__ = "segment"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=SegmentStatus.ACTIVE, index=True)
    # The JSON rule tree (siyu.audiences.rules) of a rule segment; NULL for static lists.
    rule: Mapped[dict[str, Any] | None] = mapped_column()
    # Minutes between scheduled refreshes; NULL refreshes on demand only.
    refresh_minutes: Mapped[int | None] = mapped_column(default=60)
    next_refresh_at: Mapped[datetime | None] = mapped_column(index=True)
    refreshed_at: Mapped[datetime | None]
    member_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class SegmentMember(Base):
    __tablename__ = "segment_member"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    entered_at: Mapped[datetime]


class SegmentChange(Base):
    """One customer entering or leaving a segment (also emitted as a domain event)."""

    __tablename__ = "segment_change"
    __table_args__ = (
        Index("ix_segment_change_segment", "segment_id", "at"),
        Index("ix_segment_change_customer", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    # "entered" or "exited".
    change: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class SegmentSize(Base):
    """The size of a segment after each refresh: the size-history chart."""

    __tablename__ = "segment_size"
    __table_args__ = (Index("ix_segment_size_segment", "segment_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    size: Mapped[int]
    entered: Mapped[int] = mapped_column(default=0)
    exited: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[float] = mapped_column(default=0.0)


class LifecycleModel(StrEnum):
    AIPL = "aipl"  # aware → interested → purchased → loyal
    OPERATIONAL = "ops"  # new → active → dormant → churned; recalled


class LifecycleTransition(Base):
    """A customer moved from one stage to another (also emitted as ``lifecycle.changed``)."""

    __tablename__ = "lifecycle_transition"
    __table_args__ = (
        Index("ix_lifecycle_transition_customer", "customer_id", "at"),
        Index("ix_lifecycle_transition_model", "model", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(8))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class LifecycleDistribution(Base):
    """How many customers were in each stage on a day: the stage-over-time chart."""

    __tablename__ = "lifecycle_distribution"

    day: Mapped[date] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(8), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    customers: Mapped[int]
