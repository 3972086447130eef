"""The analytics connection: each sync is seen at once, scopes stay apart on the
shared database, and the stored first orders follow the sync they describe."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics import firsts
from siyu.core import clock
from siyu.core.db import transaction
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from tests.analytics.conftest import OpenAnalytics
from tests.analytics.helpers import commit_and_export
from tests.audiences.traits_data import new_customers, paid_order

STORE_TWO = DataScope(ScopeKind.STORE, staff_id=1, store_id=2)
ORDERS_SQL = "SELECT order_id, store_id, is_first_order, gmv FROM a_orders ORDER BY order_id"


def _orders(
    session_factory: sessionmaker[Session], opener: OpenAnalytics, scope: DataScope, today: date
) -> list[tuple[int, int, bool, int]]:
    with (
        transaction(session_factory) as session,
        opener(session, today=today, scope=scope) as analytics,
    ):
        return [
            (row["order_id"], row["store_id"], row["is_first_order"], row["gmv"])
            for row in analytics.rows(ORDERS_SQL)
        ]


def test_each_sync_is_seen_and_scopes_stay_apart(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    open_test_analytics: OpenAnalytics,
    frozen_clock: clock.FrozenClock,
) -> None:
    today = clock.now().date()
    earlier = clock.now() - timedelta(days=3)

    def first_orders(session: Session, _now: datetime) -> tuple[int, int]:
        (customer,) = new_customers(session, 1, at=earlier)
        first = paid_order(session, customer, at=earlier, amount=5000, store_id=1)
        return customer, first.id

    customer, first_id = commit_and_export(
        committed_engine, session_factory, warehouse, first_orders
    )
    everything = DataScope(ScopeKind.ALL)
    assert _orders(session_factory, open_test_analytics, everything, today) == [
        (first_id, 1, True, 5000)
    ]
    stamp = firsts._stamp_of(warehouse)

    def second_order(session: Session, _now: datetime) -> int:
        return paid_order(session, customer, at=earlier + timedelta(days=1), store_id=2).id

    second_id = commit_and_export(committed_engine, session_factory, warehouse, second_order)
    # The next connection reads the new sync, and the stored first orders were redone.
    assert _orders(session_factory, open_test_analytics, everything, today) == [
        (first_id, 1, True, 5000),
        (second_id, 2, False, 10000),
    ]
    assert firsts._stamp_of(warehouse) != stamp
    # Two scopes on the same shared database at once: each sees only its own orders.
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=today, scope=STORE_TWO) as store_two,
        open_test_analytics(session, today=today, scope=everything) as brand,
    ):
        assert [row["order_id"] for row in store_two.rows(ORDERS_SQL)] == [second_id]
        assert [row["order_id"] for row in brand.rows(ORDERS_SQL)] == [first_id, second_id]
        # A store's view still knows the brand-wide first order: the second is not first.
        assert store_two.rows(ORDERS_SQL)[0]["is_first_order"] is False
