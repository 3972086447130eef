"""Tracked events: customer behaviour (page views, product views, orders paid …).

Not to be confused with domain events (the outbox): see DESIGN.md's glossary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK


class TrackedEvent(Base):
    __tablename__ = "tracked_event"
    __table_args__ = (
        # The timeline query: one customer's events, newest first.
        Index("ix_tracked_event_customer_time", "customer_id", "occurred_at", "id"),
        # The warehouse exporter reads by arrival order.
        Index("ix_tracked_event_received", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Made by the client; a repeat is ignored, not double-counted.
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    touchpoint: Mapped[str | None] = mapped_column(String(32))
    channel_code_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
