"""Group buy (拼团): deals, the groups customers open on them, and their members.

A deal is one SKU of a group-buy campaign at a group price (and an optional leader
price, 团长价), for groups of ``group_size`` that must fill within
``time_limit_minutes``. A group is opened by its leader's paid order; friends join
through its share link by paying. When ``paid_count`` reaches ``size`` the group is
filled and its orders may ship; at ``expires_at`` an unfilled group fails and every
paid member is refunded through the payment provider.

Every limit moves by a conditional UPDATE, never by counting rows first:
``stock_left`` on the deal, ``member_count < size`` on the group (a seat), ``taken``
on the per-customer tally, and the group's and each member's status (so a deadline
refund happens exactly once even when two workers race).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class GroupStatus(StrEnum):
    PENDING = "pending"  # the leader's order is not paid yet: invisible, not joinable
    OPEN = "open"  # joinable until expires_at
    FILLED = "filled"  # 成团: its orders proceed
    FAILED = "failed"  # the deadline passed unfilled: paid members are refunded
    CANCELLED = "cancelled"  # the leader never paid


class MemberStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"  # holds a seat until paid or cancelled
    PAID = "paid"
    CANCELLED = "cancelled"  # the order was cancelled or timed out unpaid: seat released
    REFUNDING = "refunding"  # the group failed: refund requested from the provider
    REFUNDED = "refunded"


class GroupBuyDeal(TimestampMixin, Base):
    __tablename__ = "group_buy_deal"
    __table_args__ = (
        Index("ix_group_buy_deal_campaign", "campaign_id"),
        CheckConstraint("group_size BETWEEN 2 AND 50", name="size_in_range"),
        CheckConstraint("group_price > 0", name="group_price_positive"),
        CheckConstraint(
            "leader_price IS NULL OR (leader_price > 0 AND leader_price <= group_price)",
            name="leader_price_in_range",
        ),
        CheckConstraint("time_limit_minutes BETWEEN 5 AND 10080", name="time_limit_in_range"),
        CheckConstraint("stock_left >= 0", name="stock_not_negative"),
        CheckConstraint("stock_left <= stock_total", name="stock_within_total"),
        CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1", name="limit_positive"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # In the storefront URL /shop/campaigns/group-buy/{public_id}.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    title: Mapped[str] = mapped_column(String(100))
    group_price: Mapped[int]  # fen per unit for a joining member
    leader_price: Mapped[int | None]  # fen per unit for the leader (团长价); NULL: group price
    group_size: Mapped[int]
    time_limit_minutes: Mapped[int]
    # 老带新: only customers without any paid order may join (the leader may be anyone).
    new_customers_only: Mapped[bool] = mapped_column(default=False)
    # Groups a customer may take part in on this deal (opened or joined); NULL: no limit.
    per_customer_limit: Mapped[int | None]
    # Campaign stock: units of the SKU this deal may sell (each member buys one).
    stock_total: Mapped[int]
    stock_left: Mapped[int]
    # 模拟成团: at the deadline a group with at least one paid member is completed with
    # simulated seats instead of failing. Off by default; copied onto each group when
    # it opens and labelled wherever the group is shown.
    virtual_completion: Mapped[bool] = mapped_column(default=False)
    sort: Mapped[int] = mapped_column(default=0)


class GroupBuyGroup(TimestampMixin, Base):
    __tablename__ = "group_buy_group"
    __table_args__ = (
        Index("ix_group_buy_group_deal_status", "deal_id", "status"),
        Index("ix_group_buy_group_campaign_status", "campaign_id", "status"),
        Index("ix_group_buy_group_status_expires", "status", "expires_at"),
        CheckConstraint("member_count >= 0", name="members_not_negative"),
        CheckConstraint("member_count <= size", name="members_within_size"),
        CheckConstraint("paid_count >= 0", name="paid_not_negative"),
        CheckConstraint("paid_count <= size", name="paid_within_size"),
        CheckConstraint("virtual_seats >= 0", name="virtual_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # In the share link ?group=<public_id>.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("group_buy_deal.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    leader_customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.PENDING)
    # Copied from the deal when the group is created: a later edit never changes the
    # promise made to the people in it.
    size: Mapped[int]
    # Seats taken, paid or held by an unpaid order (the seat condition member_count < size).
    member_count: Mapped[int] = mapped_column(default=0)
    paid_count: Mapped[int] = mapped_column(default=0)
    virtual_completion: Mapped[bool] = mapped_column(default=False)
    # Seats simulated at the deadline (模拟成团); 0 for a group filled by real members.
    virtual_seats: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime | None]
    # Set when the leader pays: opened_at + the deal's limit, capped at the campaign's close.
    expires_at: Mapped[datetime | None]
    filled_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class GroupBuyMember(TimestampMixin, Base):
    __tablename__ = "group_buy_member"
    __table_args__ = (
        Index("ix_group_buy_member_group", "group_id", "status"),
        Index("ix_group_buy_member_customer", "customer_id"),
        # One live membership per customer and group (joining twice, racing or not, is
        # refused by the index); a cancelled one does not count, so they may try again.
        Index(
            "uq_group_buy_member_live",
            "group_id",
            "customer_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_buy_group.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    # Set by the placement hook in the order's transaction.
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("order.id", ondelete="SET NULL"), unique=True
    )
    is_leader: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.PENDING_PAYMENT)
    unit_price: Mapped[int]
    # What the order costs (fen, shipping included): the member's GMV and their refund.
    amount: Mapped[int] = mapped_column(default=0)
    paid_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id", ondelete="SET NULL"))


class GroupBuyTally(Base):
    """Groups a customer takes part in per deal, for ``per_customer_limit``."""

    __tablename__ = "group_buy_tally"
    __table_args__ = (CheckConstraint("taken >= 0", name="taken_not_negative"),)

    deal_id: Mapped[int] = mapped_column(
        ForeignKey("group_buy_deal.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    taken: Mapped[int] = mapped_column(default=0)
