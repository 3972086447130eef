"""Referral commission (分销): programme settings, promoters and their accounts,
bindings, order attribution, commission rules, commissions, the account ledger and
withdrawals.

Money invariants live in the database: every balance column is CHECKed non-negative
and moves only by a conditional UPDATE written in the same transaction as its ledger
row (``siyu.campaigns.referral.accounts``), so racing withdrawals can never overdraw
and the ledger always sums to the balances.

At most two levels: a promoter is either top-level (depth 1, no parent) or invited by
a top-level promoter (depth 2). A third level is never created and never paid —
deeper chains are illegal pyramid selling (传销) under Chinese law.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class BindRule(StrEnum):
    FIRST = "first"  # 首次绑定: the first promoter keeps the customer until it expires
    LAST = "last"  # 重新绑定: the latest share link wins (last touch)


class ReferralProgramme(TimestampMixin, Base):
    """The referral campaign's own settings (one row per campaign of kind referral)."""

    __tablename__ = "referral_programme"
    __table_args__ = (
        CheckConstraint("bind_days BETWEEN 1 AND 365", name="bind_days_in_range"),
        CheckConstraint("min_withdrawal_amount >= 100", name="min_withdrawal_positive"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    # Applications are approved at once instead of waiting for an operator.
    auto_approve: Mapped[bool] = mapped_column(default=False)
    bind_rule: Mapped[str] = mapped_column(String(8), default=BindRule.LAST)
    # A binding lasts this many days after its last bind; orders after that are not
    # attributed.
    bind_days: Mapped[int] = mapped_column(default=15)
    # Fen; WeChat Pay transfers need at least 1 yuan.
    min_withdrawal_amount: Mapped[int] = mapped_column(default=100)
    # Whether the inviter of the bound promoter earns the level-2 commission.
    second_level_enabled: Mapped[bool] = mapped_column(default=True)


class PromoterKind(StrEnum):
    CUSTOMER = "customer"
    GUIDE = "guide"  # staff selling for the brand


class PromoterStatus(StrEnum):
    PENDING = "pending"  # applied, waiting for an operator
    ACTIVE = "active"
    SUSPENDED = "suspended"  # no new bindings or commissions; what is owed still settles
    REJECTED = "rejected"


class Promoter(TimestampMixin, Base):
    """A promoter and their account (frozen / withdrawable / withdrawing / withdrawn)."""

    __tablename__ = "promoter"
    __table_args__ = (
        CheckConstraint("depth IN (1, 2)", name="at_most_two_levels"),
        CheckConstraint("(parent_id IS NULL) = (depth = 1)", name="parent_means_depth_two"),
        CheckConstraint("(customer_id IS NULL) <> (staff_id IS NULL)", name="customer_or_guide"),
        CheckConstraint("frozen_amount >= 0", name="frozen_not_negative"),
        CheckConstraint("withdrawable_amount >= 0", name="withdrawable_not_negative"),
        CheckConstraint("withdrawing_amount >= 0", name="withdrawing_not_negative"),
        CheckConstraint("withdrawn_amount >= 0", name="withdrawn_not_negative"),
        Index("ix_promoter_parent", "parent_id"),
        Index("ix_promoter_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    # What share links carry (?ref=…): short, unguessable enough, case-sensitive.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), unique=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), unique=True
    )
    display_name: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=PromoterStatus.PENDING)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("promoter.id"))
    depth: Mapped[int] = mapped_column(default=1)
    applied_note: Mapped[str] = mapped_column(String(200), default="")
    approved_at: Mapped[datetime | None]
    reviewed_by: Mapped[str] = mapped_column(String(64), default="")
    # The account, in fen. Moved only with a ledger row (accounts.move).
    frozen_amount: Mapped[int] = mapped_column(default=0)
    withdrawable_amount: Mapped[int] = mapped_column(default=0)
    withdrawing_amount: Mapped[int] = mapped_column(default=0)
    withdrawn_amount: Mapped[int] = mapped_column(default=0)


class ReferralBinding(Base):
    """Which promoter a customer is bound to now (one row per customer)."""

    __tablename__ = "referral_binding"
    __table_args__ = (Index("ix_referral_binding_promoter", "promoter_id", "bound_at"),)

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoter.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    first_bound_at: Mapped[datetime]
    bound_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # How many times the binding moved to another promoter (re-bind rule).
    rebinds: Mapped[int] = mapped_column(default=0)


class ReferralAttribution(Base):
    """An order attributed to a promoter at checkout (last touch within the window)."""

    __tablename__ = "referral_attribution"
    __table_args__ = (
        Index("ix_referral_attribution_campaign", "campaign_id", "created_at"),
        Index("ix_referral_attribution_promoter", "promoter_id", "created_at"),
    )

    order_id: Mapped[int] = mapped_column(
        ForeignKey("order.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoter.id"))
    # Level 2: the bound promoter's inviter at checkout time (NULL: none or disabled).
    parent_promoter_id: Mapped[int | None] = mapped_column(ForeignKey("promoter.id"))
    bound_at: Mapped[datetime]
    created_at: Mapped[datetime]


class RuleScope(StrEnum):
    DEFAULT = "default"
    CATEGORY = "category"
    PRODUCT = "product"


class CommissionMode(StrEnum):
    RATE = "rate"  # basis points of the line's payable amount
    FIXED = "fixed"  # fen per unit


class CommissionRule(TimestampMixin, Base):
    """What a line pays at each level. Product beats category beats the default."""

    __tablename__ = "commission_rule"
    __table_args__ = (
        UniqueConstraint("campaign_id", "scope", "target_id"),
        # NULLs are distinct in a unique constraint: the default rule (no target) needs
        # its own partial index to stay one per programme.
        Index(
            "uq_commission_rule_default",
            "campaign_id",
            unique=True,
            sqlite_where=text("scope = 'default'"),
            postgresql_where=text("scope = 'default'"),
        ),
        CheckConstraint("(scope = 'default') = (target_id IS NULL)", name="target_for_scope"),
        CheckConstraint("level1_value >= 0 AND level2_value >= 0", name="values_not_negative"),
        CheckConstraint(
            "mode <> 'rate' OR (level1_value + level2_value <= 10000)", name="rates_within_price"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    mode: Mapped[str] = mapped_column(String(8))
    level1_value: Mapped[int] = mapped_column(default=0)
    level2_value: Mapped[int] = mapped_column(default=0)


class CommissionStatus(StrEnum):
    FROZEN = "frozen"  # waiting for the order's return window
    SETTLED = "settled"  # withdrawable
    REVERSED = "reversed"  # refunded away entirely


class Commission(Base):
    """One level's commission on one order line."""

    __tablename__ = "commission"
    __table_args__ = (
        UniqueConstraint("order_line_id", "level"),
        CheckConstraint("level IN (1, 2)", name="level_one_or_two"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("reversed_amount BETWEEN 0 AND amount", name="reversed_within_amount"),
        CheckConstraint(
            "refunded_base_amount BETWEEN 0 AND base_amount", name="refunded_within_base"
        ),
        Index("ix_commission_order", "order_id"),
        Index("ix_commission_promoter", "promoter_id", "created_at"),
        Index("ix_commission_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id", ondelete="CASCADE"))
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoter.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    level: Mapped[int]
    # The line's payable amount when paid, and how much of it was refunded since.
    base_amount: Mapped[int]
    refunded_base_amount: Mapped[int] = mapped_column(default=0)
    amount: Mapped[int]
    reversed_amount: Mapped[int] = mapped_column(default=0)
    # "rate:500" or "fixed:300" with the rule's scope: why this amount.
    rule: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=CommissionStatus.FROZEN)
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]


class LedgerKind(StrEnum):
    COMMISSION = "commission"  # + frozen
    SETTLE = "settle"  # frozen → withdrawable
    REVERSE = "reverse"  # − frozen (refund)
    WITHDRAW = "withdraw"  # withdrawable → withdrawing
    RETURN = "return"  # withdrawing → withdrawable (rejected / failed)
    PAY_OUT = "pay_out"  # withdrawing → withdrawn


class PromoterLedger(Base):
    """Every movement of a promoter's account; ``reference`` makes each one happen once."""

    __tablename__ = "promoter_ledger"
    __table_args__ = (
        UniqueConstraint("promoter_id", "reference"),
        Index("ix_promoter_ledger_promoter", "promoter_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoter.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(80))
    frozen_delta: Mapped[int] = mapped_column(default=0)
    withdrawable_delta: Mapped[int] = mapped_column(default=0)
    withdrawing_delta: Mapped[int] = mapped_column(default=0)
    withdrawn_delta: Mapped[int] = mapped_column(default=0)
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commission.id"))
    withdrawal_id: Mapped[int | None] = mapped_column(ForeignKey("referral_withdrawal.id"))
    created_at: Mapped[datetime]


class WithdrawalStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    FAILED = "failed"


class ReferralWithdrawal(Base):
    """A promoter's withdrawal: requested → approved → paid, or rejected / failed with
    the money back in the withdrawable balance."""

    __tablename__ = "referral_withdrawal"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_referral_withdrawal_status", "status", "requested_at"),
        Index("ix_referral_withdrawal_promoter", "promoter_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    promoter_id: Mapped[int] = mapped_column(ForeignKey("promoter.id", ondelete="CASCADE"))
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=WithdrawalStatus.REQUESTED)
    requested_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str] = mapped_column(String(64), default="")
    paid_at: Mapped[datetime | None]
    # The transfer's reference at the payment provider (or the bank), given when paid.
    payout_reference: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
