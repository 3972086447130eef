"""Outbox of domain events and the per-handler delivery record."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class OutboxEvent(Base):
    __tablename__ = "outbox_event"
    # The dispatcher's only query: pending events that are due, oldest first.
    __table_args__ = (Index("ix_outbox_event_due", "status", "available_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    available_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class ProcessedEvent(Base):
    """One row per (event, handler) that ran to completion: the idempotency key."""

    __tablename__ = "processed_event"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    handler: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime]
