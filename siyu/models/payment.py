"""Payments, provider notifications, refunds and their lines."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class PaymentProvider(StrEnum):
    SANDBOX = "sandbox"
    WECHATPAY = "wechatpay"
    OFFLINE = "offline"  # imported or paid at a till outside siyu


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CLOSED = "closed"  # the order was cancelled before any money arrived


class Payment(TimestampMixin, Base):
    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("provider", "provider_transaction_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Sent to the provider as out_trade_no; unique per attempt.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING)
    amount: Mapped[int]
    # The provider's id for the money movement (WeChat Pay transaction_id).
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))
    payer_openid: Mapped[str | None] = mapped_column(String(128))
    # What the client needs to start paying (JSAPI parameters, sandbox page URL).
    client_parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class NotificationOutcome(StrEnum):
    APPLIED = "applied"  # changed state (order paid, refund settled)
    DUPLICATE = "duplicate"  # already applied: acknowledged, nothing changed
    REJECTED = "rejected"  # amount mismatch, unknown order …: flagged for an operator
    REFUNDED_LATE = "refunded_late"  # money for an order that was already cancelled


class PaymentNotification(Base):
    """Every verified provider notification, once: the provider's id is unique, so a
    notification delivered twice is recognised and acknowledged without effect."""

    __tablename__ = "payment_notification"
    __table_args__ = (
        UniqueConstraint("provider", "notification_id"),
        Index("ix_payment_notification_flagged", "is_flagged", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    notification_id: Mapped[str] = mapped_column(String(64))
    # "payment" or "refund".
    kind: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(64), default="")
    out_trade_no: Mapped[str | None] = mapped_column(String(64), index=True)
    # The decrypted resource, kept for audit and dispute handling.
    resource: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(300), default="")
    # Flagged notifications need an operator (amount mismatch, unknown order).
    is_flagged: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime]


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # waiting for an operator
    REJECTED = "rejected"
    PROCESSING = "processing"  # approved and sent to the provider
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the provider refused; an operator may retry


class Refund(TimestampMixin, Base):
    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("provider", "provider_refund_id"),
        Index("ix_refund_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Sent to the provider as out_refund_no.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    status: Mapped[str] = mapped_column(String(16), default=RefundStatus.REQUESTED)
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    # Put refunded goods back into sellable stock at the line's location.
    restock: Mapped[bool] = mapped_column(default=False)
    # "customer", "staff:<username>", "system:late_payment" …
    requested_by: Mapped[str] = mapped_column(String(64))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None]


class RefundLine(Base):
    __tablename__ = "refund_line"
    __table_args__ = (
        UniqueConstraint("refund_id", "order_line_id"),
        CheckConstraint("quantity >= 0 AND amount >= 0", name="not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    amount: Mapped[int]
