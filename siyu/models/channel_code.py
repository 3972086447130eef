"""Channel codes (渠道活码): where a customer came from."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class ChannelCodeKind(StrEnum):
    STORE_POSTER = "store_poster"
    PARCEL_CARD = "parcel_card"
    XIAOHONGSHU = "xiaohongshu"
    DOUYIN = "douyin"
    AD = "ad"
    GUIDE = "guide"
    EVENT = "event"
    ECOMMERCE = "ecommerce"
    OTHER = "other"


class ChannelCode(TimestampMixin, Base):
    __tablename__ = "channel_code"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Short, URL-safe, <= 30 characters so it fits a WeCom contact-way `state`.
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    touchpoint: Mapped[str] = mapped_column(String(32))
    # Where a scan lands (an H5 page, the mini program's path …).
    target_url: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Auto-assign new customers to this guide, and auto-apply these tags.
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    store_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    tag_names: Mapped[list[str]] = mapped_column(default=list)
    # Poster: background image path under the data dir, caption, QR placement.
    poster: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class ChannelCodeVisit(Base):
    """A scan, visit or WeCom add carrying a channel code."""

    __tablename__ = "channel_code_visit"
    __table_args__ = (Index("ix_channel_code_visit_code_time", "channel_code_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    channel_code_id: Mapped[int] = mapped_column(ForeignKey("channel_code.id", ondelete="CASCADE"))
    # NULL for an anonymous scan that never identified.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    # new: this visit created the customer (their first touch); returning otherwise.
    is_new_customer: Mapped[bool] = mapped_column(default=False)
    how: Mapped[str] = mapped_column(String(16))  # scan | visit | wecom_add
    occurred_at: Mapped[datetime]
