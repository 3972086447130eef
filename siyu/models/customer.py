"""Customers and their identity graph, staff relations, merges, conflicts and tags."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    ERASED = "erased"


class IdentityKind(StrEnum):
    UNIONID = "unionid"
    OA_OPENID = "oa_openid"
    MP_OPENID = "mp_openid"
    WECOM_EXTERNAL_USERID = "wecom_external_userid"
    PHONE = "phone"
    MEMBER_NO = "member_no"
    ANONYMOUS_ID = "anonymous_id"
    EXTERNAL = "external"


class Customer(TimestampMixin, Base):
    __tablename__ = "customer"
    __table_args__ = (
        Index("ix_customer_name", "name"),
        # The warehouse exporter's watermark (siyu/warehouse): what changed since.
        Index("ix_customer_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=CustomerStatus.ACTIVE, index=True)
    # Set when this customer was merged into another; always points at a live survivor.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    # Shown instead of personal data after erasure, so analytics stay whole.
    pseudonym: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(16))
    birthday: Mapped[date | None]
    city: Mapped[str | None] = mapped_column(String(64))
    # Consent flags by purpose, e.g. {"marketing": true, "analytics": true}.
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # First touch is set once and never overwritten; last touch follows every visit.
    first_touch_channel_code_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    first_touchpoint: Mapped[str | None] = mapped_column(String(32))
    first_touch_at: Mapped[datetime | None]
    last_touch_channel_code_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    last_touchpoint: Mapped[str | None] = mapped_column(String(32))
    last_touch_at: Mapped[datetime | None]
    # The guide (staff) who owns the relationship; data scope for guides.
    guide_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    # The store the customer belongs to; data scope for store managers.
    store_id: Mapped[int | None] = mapped_column(BigIntegerPK, index=True)
    last_seen_at: Mapped[datetime | None]


class CustomerIdentity(Base):
    """One identifier of a customer.

    ``lookup_key`` is what uniqueness and lookups use: the value itself, or for
    personal data (phone) a keyed hash, with the value kept encrypted in
    ``encrypted_value``. The unique index makes a duplicate identity row impossible
    even when two identify calls race.
    """

    __tablename__ = "customer_identity"
    __table_args__ = (
        UniqueConstraint("kind", "namespace", "lookup_key"),
        Index("ix_customer_identity_customer", "customer_id", "kind"),
        # The warehouse exporter's watermark (siyu/warehouse).
        Index("ix_customer_identity_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # app_id for openids, corp_id for external_userid, platform for external ids; "" otherwise.
    namespace: Mapped[str] = mapped_column(String(64), default="")
    lookup_key: Mapped[str] = mapped_column(String(128))
    # Plain value for non-personal identifiers; NULL when encrypted.
    value: Mapped[str | None] = mapped_column(String(128))
    encrypted_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class CustomerStaffLink(Base):
    """A WeCom contact relation: which staff member added the customer, when, via which code."""

    __tablename__ = "customer_staff_link"
    __table_args__ = (UniqueConstraint("customer_id", "staff_id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    corp_id: Mapped[str] = mapped_column(String(64), default="")
    external_userid: Mapped[str | None] = mapped_column(String(128))
    # The contact-way state (<= 30 characters in WeCom) that carried the channel code.
    state: Mapped[str | None] = mapped_column(String(30))
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class CustomerMerge(Base):
    __tablename__ = "customer_merge"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    # What moved: {"identities": 3, "tracked_events": 120, ...}.
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class ConflictStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class IdentityConflict(Base):
    """Two strong identifiers of one kind met on one person: an operator decides."""

    __tablename__ = "identity_conflict"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=ConflictStatus.OPEN, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    namespace: Mapped[str] = mapped_column(String(64), default="")
    # The customers involved (one or two) and a masked description of the values.
    customer_ids: Mapped[list[int]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(200))


class TagKind(StrEnum):
    MANUAL = "manual"
    RULE = "rule"


class Tag(TimestampMixin, Base):
    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("group_name", "name"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Names a tag_group row (siyu.models.audience.TagGroup); "" is the ungrouped tags.
    group_name: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default=TagKind.MANUAL)
    description: Mapped[str] = mapped_column(Text, default="")
    # The JSON rule tree (siyu.audiences.rules) that maintains a rule tag.
    rule: Mapped[dict[str, Any] | None] = mapped_column()
    customer_count: Mapped[int] = mapped_column(default=0)
    refreshed_at: Mapped[datetime | None]


class CustomerTag(Base):
    __tablename__ = "customer_tag"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # What added it: "staff:<username>", "channel_code:<code>", "rule:<id>".
    source: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime]


class CustomerSession(Base):
    """A consumer's session for the storefront API (/api/shop/v1): token stored hashed."""

    __tablename__ = "customer_session"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    touchpoint: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
