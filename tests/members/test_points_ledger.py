"""The points ledger: balances move with their entries, FIFO lots, expiry, adjustments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.members import audit, expiry, points
from siyu.members.errors import PointsInsufficient, PointsInvalidAmount, ReasonRequired
from siyu.models.job import Job
from siyu.models.member import PointsEntry
from siyu.models.staff import AuditLog
from siyu.staff.permissions import Role
from tests.factories import make_staff, principal_of
from tests.members.factories import (
    entry_count,
    ledger,
    make_member,
    membership,
    payloads,
    set_program,
)

pytestmark = pytest.mark.usefixtures("settings")


def _point_audits(session: Session) -> list[str]:
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id))
    return [action for action in actions if action.startswith("points.")]


def test_earn_and_spend_keep_the_balance_and_running_balance(
    session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher)
    first = points.earn(session, customer_id, 300, reference="a", reason="gift")
    second = points.earn(session, customer_id, 200, reference="b", reason="gift")
    spent = points.spend(session, customer_id, 350, reference="order:1", reason="checkout")
    assert first is not None
    assert second is not None
    assert [first.balance_after, second.balance_after, spent.balance_after] == [300, 500, 150]
    assert points.balance(session, customer_id) == (150, 0)
    # FIFO: the first lot is used up before the second is touched.
    assert ledger(session, customer_id) == [
        ("earn", "available", 300, 0),
        ("earn", "available", 200, 150),
        ("spend", "available", -350, 0),
    ]
    assert audit.run(session).ok


def test_the_same_reference_earns_and_spends_once(session: Session, cipher: PiiCipher) -> None:
    customer_id = make_member(session, cipher)
    assert points.earn(session, customer_id, 100, reference="order:7", reason="order")
    assert points.earn(session, customer_id, 100, reference="order:7", reason="order") is None
    first = points.spend(session, customer_id, 40, reference="order:8", reason="checkout")
    again = points.spend(session, customer_id, 40, reference="order:8", reason="checkout")
    assert again.id == first.id
    assert points.balance(session, customer_id) == (60, 0)
    assert entry_count(session) == 2


def test_spending_more_than_held_is_409_and_changes_nothing(
    session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher, points_balance=100)
    before = ledger(session, customer_id)
    with pytest.raises(PointsInsufficient) as raised:
        points.spend(session, customer_id, 101, reference="order:1", reason="checkout")
    assert raised.value.status == 409
    assert raised.value.data == {"balance": 100, "requested": 101}
    assert ledger(session, customer_id) == before
    assert points.balance(session, customer_id) == (100, 0)
    with pytest.raises(PointsInvalidAmount):
        points.spend(session, customer_id, 0, reference="order:2", reason="checkout")


def test_frozen_points_are_not_spendable_until_thawed(session: Session, cipher: PiiCipher) -> None:
    customer_id = make_member(session, cipher)
    points.earn(session, customer_id, 500, reference="order:1", reason="order", frozen=True)
    assert points.balance(session, customer_id) == (0, 500)
    with pytest.raises(PointsInsufficient):
        points.spend(session, customer_id, 1, reference="x", reason="checkout")
    # Entries without an order (this one) are thawed by order id only: nothing moves.
    assert points.thaw_order(session, customer_id, 999) == 0
    assert audit.run(session).ok


def test_manual_adjustments_need_a_reason_and_never_go_below_zero(
    session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher, points_balance=50)
    admin = principal_of(make_staff(session, roles=[Role.ADMIN]))
    with pytest.raises(ReasonRequired):
        points.adjust(session, admin, customer_id, 10, reason="  ")
    with pytest.raises(PointsInsufficient):
        points.adjust(session, admin, customer_id, -51, reason="correction")
    assert points.balance(session, customer_id) == (50, 0)
    assert _point_audits(session) == []
    points.adjust(session, admin, customer_id, -20, reason="double credit")
    points.adjust(session, admin, customer_id, 5, reason="goodwill")
    assert points.balance(session, customer_id) == (35, 0)
    assert _point_audits(session) == ["points.adjust", "points.adjust"]
    assert audit.run(session).ok


def test_points_earned_in_a_year_expire_when_the_next_year_ends(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    # 2026-11-22 10:00 in Shanghai: expires at 2028-01-01 00:00 Shanghai = 2027-12-31 16:00 UTC.
    customer_id = make_member(session, cipher)
    lot = points.earn(session, customer_id, 300, reference="a", reason="gift")
    assert lot is not None
    assert lot.expires_at == datetime(2027, 12, 31, 16, 0, tzinfo=UTC)
    points.spend(session, customer_id, 100, reference="s", reason="checkout")
    frozen_clock.set(datetime(2027, 12, 31, 15, 59, tzinfo=UTC))
    assert expiry.expire_due(session) == (0, 0)
    frozen_clock.set(datetime(2027, 12, 31, 16, 5, tzinfo=UTC))
    later = points.earn(session, customer_id, 40, reference="b", reason="gift")
    assert later is not None
    assert later.expires_at == datetime(2029, 12, 31, 16, 0, tzinfo=UTC)
    assert expiry.expire_due(session) == (1, 200)
    assert expiry.expire_due(session) == (0, 0)  # a second run expires nothing twice
    assert points.balance(session, customer_id) == (40, 0)
    assert ledger(session, customer_id)[-1] == ("expire", "available", -200, 0)
    assert audit.run(session).ok


def test_never_expiring_policy_sets_no_date(session: Session, cipher: PiiCipher) -> None:
    set_program(session, expiry_policy="never")
    customer_id = make_member(session, cipher)
    lot = points.earn(session, customer_id, 10, reference="a", reason="gift")
    assert lot is not None
    assert lot.expires_at is None


def test_spending_takes_the_soonest_expiring_lot_first(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    customer_id = make_member(session, cipher)
    late = points.earn(
        session,
        customer_id,
        100,
        reference="late",
        reason="gift",
        expires_at=frozen_clock.now() + timedelta(days=300),
    )
    soon = points.earn(
        session,
        customer_id,
        100,
        reference="soon",
        reason="gift",
        expires_at=frozen_clock.now() + timedelta(days=3),
    )
    points.spend(session, customer_id, 120, reference="s", reason="checkout")
    assert late is not None
    assert soon is not None
    session.refresh(late)
    session.refresh(soon)
    assert (soon.remaining, late.remaining) == (0, 80)


def test_a_reminder_goes_out_once_per_batch_inside_the_window(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    customer_id = make_member(session, cipher)
    at = frozen_clock.now() + timedelta(days=20)
    points.earn(session, customer_id, 70, reference="a", reason="gift", expires_at=at)
    points.earn(session, customer_id, 30, reference="b", reason="gift", expires_at=at)
    points.earn(
        session,
        customer_id,
        999,
        reference="c",
        reason="gift",
        expires_at=frozen_clock.now() + timedelta(days=45),
    )
    assert expiry.remind_expiring(session) == 1
    frozen_clock.advance(days=1)
    assert expiry.remind_expiring(session) == 1  # the same batch, already enqueued
    jobs = session.scalars(select(Job).where(Job.task == expiry.REMIND_TASK)).all()
    assert len(jobs) == 1
    expiry.send_reminder(session, jobs[0].payload)
    assert payloads(session, expiry.EXPIRING_EVENT) == [
        {"customer_id": customer_id, "points": 100, "expires_at": at.isoformat()}
    ]


def test_audit_reports_a_balance_that_drifted_from_its_ledger(
    session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher, points_balance=100)
    assert audit.run(session).ok
    membership(session, customer_id).points_balance = 90
    session.flush()
    report = audit.run(session)
    assert [(m.customer_id, m.check, m.ledger, m.balance) for m in report.mismatches] == [
        (customer_id, "points_balance", 100, 90),
        (customer_id, "available_lots", 100, 90),
    ]
    assert session.scalar(select(PointsEntry.amount)) == 100
