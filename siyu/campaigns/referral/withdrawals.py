"""Withdrawals: an audited state machine.

    requested ──approve──▶ approved ──pay──▶ paid
        │                     │
        └──reject──▶ rejected ◀┘ (reject)       approved ──fail──▶ failed

Requesting moves the amount from withdrawable to withdrawing (``accounts.move``: a
conditional UPDATE, so racing requests can never take more than is settled — the
loser gets ``referral.insufficient_balance`` and its transaction changes nothing).
Paying moves it from withdrawing to withdrawn; rejecting or a failed transfer moves
it back to withdrawable. Every step is a conditional UPDATE from the expected status,
so two reviewers acting at once act once; approving and paying need
``referral.payout`` and are written to the audit log.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.campaigns.referral import accounts, programme
from siyu.campaigns.referral.accounts import Deltas
from siyu.campaigns.referral.errors import (
    InvalidWithdrawal,
    WithdrawalNotFound,
    WithdrawalStateConflict,
)
from siyu.core import clock
from siyu.core.db import rowcount
from siyu.models.base import new_public_id
from siyu.models.referral import LedgerKind, Promoter, ReferralWithdrawal, WithdrawalStatus
from siyu.staff import audit
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

DEFAULT_MINIMUM = 100


def request(session: Session, promoter: Promoter, amount: int) -> ReferralWithdrawal:
    live = programme.live(session)
    minimum = live.min_withdrawal_amount if live is not None else DEFAULT_MINIMUM
    if amount < minimum:
        raise InvalidWithdrawal(
            "The amount is below the minimum withdrawal.",
            data={"field": "amount", "minimum": minimum},
        )
    now = clock.now()
    withdrawal = ReferralWithdrawal(
        public_id=new_public_id("wd"),
        promoter_id=promoter.id,
        amount=amount,
        status=WithdrawalStatus.REQUESTED.value,
        requested_at=now,
    )
    session.add(withdrawal)
    session.flush()
    # Raises InsufficientBalance when the settled balance is short: the request's
    # transaction rolls back, the withdrawal row with it.
    accounts.move(
        session,
        promoter.id,
        LedgerKind.WITHDRAW,
        f"withdraw:{withdrawal.id}",
        Deltas(withdrawable=-amount, withdrawing=amount),
        withdrawal_id=withdrawal.id,
    )
    return withdrawal


def get(session: Session, public_id: str) -> ReferralWithdrawal:
    withdrawal = session.scalars(
        select(ReferralWithdrawal).where(ReferralWithdrawal.public_id == public_id)
    ).first()
    if withdrawal is None:
        raise WithdrawalNotFound(data={"withdrawal": public_id})
    return withdrawal


def _move(
    session: Session,
    actor: Principal,
    withdrawal: ReferralWithdrawal,
    sources: tuple[WithdrawalStatus, ...],
    target: WithdrawalStatus,
    **values: object,
) -> None:
    now = clock.now()
    moved = session.execute(
        update(ReferralWithdrawal)
        .where(
            ReferralWithdrawal.id == withdrawal.id,
            ReferralWithdrawal.status.in_([source.value for source in sources]),
        )
        .values(status=target.value, reviewed_at=now, reviewed_by=actor.username[:64], **values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        session.refresh(withdrawal)
        raise WithdrawalStateConflict(
            data={"withdrawal": withdrawal.public_id, "status": withdrawal.status}
        )
    session.refresh(withdrawal)
    audit.record(
        session,
        actor,
        f"referral.withdrawal_{target.value}",
        target_type="referral_withdrawal",
        target_id=withdrawal.id,
        detail={
            "amount": withdrawal.amount,
            "promoter_id": withdrawal.promoter_id,
            **{key: str(value) for key, value in values.items()},
        },
    )


def approve(session: Session, actor: Principal, withdrawal: ReferralWithdrawal) -> None:
    actor.require(Permission.REFERRAL_PAYOUT)
    _move(session, actor, withdrawal, (WithdrawalStatus.REQUESTED,), WithdrawalStatus.APPROVED)


def pay(
    session: Session, actor: Principal, withdrawal: ReferralWithdrawal, *, payout_reference: str
) -> None:
    """Record the transfer as made (the money left the brand's account)."""
    actor.require(Permission.REFERRAL_PAYOUT)
    now = clock.now()
    _move(
        session,
        actor,
        withdrawal,
        (WithdrawalStatus.APPROVED,),
        WithdrawalStatus.PAID,
        paid_at=now,
        payout_reference=payout_reference[:64],
    )
    accounts.move(
        session,
        withdrawal.promoter_id,
        LedgerKind.PAY_OUT,
        f"pay_out:{withdrawal.id}",
        Deltas(withdrawing=-withdrawal.amount, withdrawn=withdrawal.amount),
        withdrawal_id=withdrawal.id,
    )


def _return(session: Session, withdrawal: ReferralWithdrawal) -> None:
    accounts.move(
        session,
        withdrawal.promoter_id,
        LedgerKind.RETURN,
        f"return:{withdrawal.id}",
        Deltas(withdrawing=-withdrawal.amount, withdrawable=withdrawal.amount),
        withdrawal_id=withdrawal.id,
    )


def reject(
    session: Session, actor: Principal, withdrawal: ReferralWithdrawal, *, note: str
) -> None:
    """Refuse a request (or an approval not yet paid): the money is withdrawable again."""
    actor.require(Permission.REFERRAL_PAYOUT)
    _move(
        session,
        actor,
        withdrawal,
        (WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED),
        WithdrawalStatus.REJECTED,
        note=note[:200],
    )
    _return(session, withdrawal)


def fail(session: Session, actor: Principal, withdrawal: ReferralWithdrawal, *, note: str) -> None:
    """The transfer of an approved withdrawal failed: the money is withdrawable again."""
    actor.require(Permission.REFERRAL_PAYOUT)
    _move(
        session,
        actor,
        withdrawal,
        (WithdrawalStatus.APPROVED,),
        WithdrawalStatus.FAILED,
        note=note[:200],
    )
    _return(session, withdrawal)


def list_withdrawals(
    session: Session,
    *,
    status: WithdrawalStatus | None = None,
    promoter_id: int | None = None,
    limit: int = 200,
) -> list[ReferralWithdrawal]:
    statement = select(ReferralWithdrawal).order_by(
        ReferralWithdrawal.requested_at.desc(), ReferralWithdrawal.id.desc()
    )
    if status is not None:
        statement = statement.where(ReferralWithdrawal.status == status.value)
    if promoter_id is not None:
        statement = statement.where(ReferralWithdrawal.promoter_id == promoter_id)
    return list(session.scalars(statement.limit(limit)))
