"""Staff accounts, their roles, API tokens, console sessions and login throttling."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    STORE_MANAGER = "store_manager"
    GUIDE = "guide"
    INTEGRATION = "integration"


class Staff(TimestampMixin, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Stored lower-cased so "Alice" and "alice" are the same account.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Data scope: a store manager sees only this store. Stores arrive with the mall
    # issue; the column has no foreign key until that table exists.
    store_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    last_login_at: Mapped[datetime | None]
    # Bumped on password reset and disable: every console session of an older
    # generation is invalid at once.
    session_generation: Mapped[int] = mapped_column(default=0)

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", lazy="raise", cascade="all, delete-orphan"
    )


class StaffRole(Base):
    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)

    staff: Mapped[Staff] = relationship(back_populates="roles", lazy="raise")


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # SHA-256 of the token: tokens carry 256 bits of randomness, so a slow hash adds
    # nothing and would cost every API request.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # First characters, shown in lists so an operator can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class ConsoleSession(Base):
    __tablename__ = "console_session"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int]
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginThrottle(Base):
    """Failed logins per username, whether or not the account exists.

    Tracking unknown usernames too means a lock-out reveals nothing about which
    accounts exist.
    """

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    # Username copied at the time, so the row still reads right after a rename.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
