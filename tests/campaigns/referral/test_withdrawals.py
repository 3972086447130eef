"""Withdrawals: the audited state machine, never more than settled, racing requests
never overdraw (threads on both engines)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.referral import accounts, commissions, withdrawals
from siyu.campaigns.referral.accounts import Deltas
from siyu.campaigns.referral.errors import (
    InsufficientBalance,
    InvalidWithdrawal,
    WithdrawalStateConflict,
)
from siyu.core.crypto import PiiCipher
from siyu.core.errors import PermissionDenied
from siyu.core.settings import Settings, install
from siyu.models.referral import LedgerKind, Promoter, ReferralWithdrawal
from siyu.models.staff import AuditLog, Role
from siyu.orders import events
from tests.campaigns.referral.factories import (
    ACTOR,
    balances,
    bound_buyer,
    buy,
    ledger_sums,
    make_programme,
    make_promoter,
)
from tests.factories import make_staff, principal_of
from tests.orders.factories import make_shelf


def _fund(session: Session, promoter: Promoter, amount: int) -> None:
    """Settled commission, as the settle job leaves it."""
    accounts.move(session, promoter.id, LedgerKind.COMMISSION, "seed", Deltas(frozen=amount))
    accounts.move(
        session,
        promoter.id,
        LedgerKind.SETTLE,
        "seed:settle",
        Deltas(frozen=-amount, withdrawable=amount),
    )


def test_request_approve_pay(session: Session, cipher: PiiCipher) -> None:
    make_programme(session)
    promoter = make_promoter(session, cipher)
    _fund(session, promoter, 5000)
    withdrawal = withdrawals.request(session, promoter, 3000)
    assert balances(session, promoter) == (0, 2000, 3000, 0)
    withdrawals.approve(session, ACTOR, withdrawal)
    with pytest.raises(WithdrawalStateConflict):
        withdrawals.approve(session, ACTOR, withdrawal)
    withdrawals.pay(session, ACTOR, withdrawal, payout_reference="WX123")
    assert (withdrawal.status, withdrawal.payout_reference) == ("paid", "WX123")
    assert balances(session, promoter) == (0, 2000, 0, 3000)
    assert ledger_sums(session, promoter) == balances(session, promoter)
    actions = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.action.startswith("referral.withdrawal"))
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["referral.withdrawal_approved", "referral.withdrawal_paid"]


@pytest.mark.parametrize("ending", ["reject", "fail"])
def test_rejected_or_failed_money_comes_back(
    session: Session, cipher: PiiCipher, ending: str
) -> None:
    make_programme(session)
    promoter = make_promoter(session, cipher)
    _fund(session, promoter, 5000)
    withdrawal = withdrawals.request(session, promoter, 5000)
    withdrawals.approve(session, ACTOR, withdrawal)
    getattr(withdrawals, ending)(session, ACTOR, withdrawal, note="账户信息有误")
    assert withdrawal.status == ("rejected" if ending == "reject" else "failed")
    assert balances(session, promoter) == (0, 5000, 0, 0)
    with pytest.raises(WithdrawalStateConflict):
        withdrawals.pay(session, ACTOR, withdrawal, payout_reference="late")
    assert balances(session, promoter) == (0, 5000, 0, 0)


def test_more_than_settled_or_below_minimum_changes_nothing(
    session: Session, cipher: PiiCipher
) -> None:
    make_programme(session, min_withdrawal_amount=1000)
    promoter = make_promoter(session, cipher)
    _fund(session, promoter, 5000)
    with pytest.raises(InvalidWithdrawal):
        withdrawals.request(session, promoter, 999)
    nested = session.begin_nested()
    with pytest.raises(InsufficientBalance):
        withdrawals.request(session, promoter, 5001)
    nested.rollback()
    assert balances(session, promoter) == (0, 5000, 0, 0)
    assert session.scalar(select(func.count()).select_from(ReferralWithdrawal)) == 0


def test_payout_needs_the_permission(session: Session, cipher: PiiCipher) -> None:
    make_programme(session)
    promoter = make_promoter(session, cipher)
    _fund(session, promoter, 5000)
    withdrawal = withdrawals.request(session, promoter, 1000)
    operator = principal_of(make_staff(session, roles=[Role.OPERATOR]))
    with pytest.raises(PermissionDenied):
        withdrawals.approve(session, operator, withdrawal)
    assert withdrawal.status == "requested"


def test_racing_withdrawals_never_overdraw(committed_engine: Engine, cipher: PiiCipher) -> None:
    factory = sessionmaker(bind=committed_engine, expire_on_commit=False)
    with factory() as session, session.begin():
        make_programme(session)
        promoter = make_promoter(session, cipher)
        _fund(session, promoter, 10_000)
        promoter_id = promoter.id
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def withdraw() -> None:
        start.wait()
        try:
            with factory() as session, session.begin():
                row = session.get(Promoter, promoter_id)
                assert row is not None
                withdrawals.request(session, row, 3000)
            result = "ok"
        except InsufficientBalance:
            result = "insufficient"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=withdraw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["insufficient"] * 5 + ["ok"] * 3
    with factory() as session:
        row = session.get(Promoter, promoter_id)
        assert row is not None
        assert (row.withdrawable_amount, row.withdrawing_amount) == (1000, 9000)
        assert session.scalar(select(func.count()).select_from(ReferralWithdrawal)) == 3
        assert ledger_sums(session, row) == (0, 1000, 9000, 0)


def test_racing_deliveries_of_one_payment_pay_once(
    committed_engine: Engine, cipher: PiiCipher, test_settings: Settings
) -> None:
    """Two workers handling the same ``order.paid`` at once freeze the commission once."""
    factory = sessionmaker(bind=committed_engine, expire_on_commit=False)
    install(test_settings)
    try:
        with factory() as session, session.begin():
            make_programme(session, level1=1000, level2=0)
            shelf = make_shelf(session, prices=(10000,))
            promoter = make_promoter(session, cipher)
            buyer = bound_buyer(session, cipher, promoter)
            order, lines = buy(
                session,
                cipher,
                test_settings,
                customer_id=buyer,
                items=[(shelf.skus[0], 1)],
                paid=False,
            )
            payload = {**events.order_payload(order, lines), "paid_amount": 10000}
            promoter_id = promoter.id
        start = threading.Barrier(4)

        def deliver_once() -> None:
            start.wait()
            with factory() as session, session.begin():
                commissions.on_paid(session, payload)

        threads = [threading.Thread(target=deliver_once) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with factory() as session:
            row = session.get(Promoter, promoter_id)
            assert row is not None
            assert row.frozen_amount == 1000
            assert ledger_sums(session, row) == (1000, 0, 0, 0)
    finally:
        install(None)
