"""Property: any sequence of earn / spend / thaw / refund / return / adjust / expire
keeps every balance equal to its ledger, never negative, and the audit clean."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.members import audit, expiry, points
from siyu.members.errors import PointsInsufficient
from siyu.models.base import new_public_id
from siyu.models.member import PointsEntry, PointsEntryStatus
from siyu.models.order import Order
from siyu.staff.permissions import Role
from tests.factories import make_staff, principal_of
from tests.members.factories import make_member

pytestmark = pytest.mark.usefixtures("settings")

amounts = st.integers(min_value=1, max_value=500)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), amounts, st.booleans()),
        st.tuples(st.just("spend"), amounts),
        st.tuples(st.just("thaw"), st.integers(0, 5)),
        st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 100)),
        st.tuples(st.just("return"), st.integers(0, 5), amounts),
        st.tuples(st.just("adjust"), st.integers(-500, 500).filter(bool)),
        st.tuples(st.just("expire"), st.integers(1, 400)),
    ),
    min_size=1,
    max_size=25,
)


def _bare_order(session: Session, customer_id: int) -> int:
    now = clock.now()
    order = Order(
        public_id=new_public_id("ord"),
        customer_id=customer_id,
        created_at=now,
        updated_at=now,
        payment_deadline=now,
    )
    session.add(order)
    session.flush()
    return order.id


def _available_sum(session: Session, customer_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.customer_id == customer_id,
                PointsEntry.status == PointsEntryStatus.AVAILABLE,
            )
        )
        or 0
    )


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_any_sequence_keeps_the_ledger_and_the_balances_equal(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock, steps: list[tuple]
) -> None:
    customer_id = make_member(session, cipher)
    admin = principal_of(make_staff(session, roles=[Role.ADMIN]))
    orders: list[int] = []
    spends: list[str] = []
    for number, step in enumerate(steps):
        kind = step[0]
        before, _ = points.balance(session, customer_id)
        if kind == "earn":
            order_id = _bare_order(session, customer_id) if step[2] else None
            points.earn(
                session,
                customer_id,
                step[1],
                reference=f"e{number}",
                reason="earn",
                order_id=order_id,
                frozen=step[2],
            )
            if order_id is not None:
                orders.append(order_id)
        elif kind == "spend":
            try:
                points.spend(session, customer_id, step[1], reference=f"s{number}", reason="x")
                spends.append(f"s{number}")
                assert before >= step[1]
            except PointsInsufficient:
                assert before < step[1]
        elif kind == "thaw" and orders:
            points.thaw_order(session, customer_id, orders[step[1] % len(orders)])
        elif kind == "refund" and orders:
            order_id = orders[step[1] % len(orders)]
            earned = session.scalars(
                select(PointsEntry).where(
                    PointsEntry.order_id == order_id, PointsEntry.kind == "earn"
                )
            ).one()
            points.claw_back(
                session,
                earned,
                earned.amount * step[2] // 100,
                reference=f"r{number}",
                reason="refund",
            )
        elif kind == "return" and spends:
            points.refund_spend(
                session,
                customer_id,
                spend_reference=spends[step[1] % len(spends)],
                amount=step[2],
                reference=f"t{number}",
                reason="return",
            )
        elif kind == "adjust":
            try:
                points.adjust(session, admin, customer_id, step[1], reason="fix")
                assert before + step[1] >= 0
            except PointsInsufficient:
                assert before + step[1] < 0
        elif kind == "expire":
            frozen_clock.advance(timedelta(days=step[1]))
            expiry.expire_due(session)
        available, frozen = points.balance(session, customer_id)
        assert available >= 0
        assert frozen >= 0
        assert available == _available_sum(session, customer_id)
        report = audit.run(session, customer_id=customer_id)
        assert report.ok, report.mismatches
