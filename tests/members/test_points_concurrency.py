"""Racing spends never overdraw, on SQLite (one writer) and PostgreSQL (row locks):
each transaction commits for real, one per thread."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.members import audit, points
from siyu.models.catalog import Sku
from siyu.models.member import PointsEntry
from siyu.models.order import Order
from tests.customers.factories import make_cipher
from tests.members.factories import checkout_with_points, make_member
from tests.orders.factories import make_shelf

THREADS = 20


def test_twenty_racing_spends_on_a_balance_for_five(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(session_factory) as session:
        customer_id = make_member(session, make_cipher(), points_balance=500)
    barrier = threading.Barrier(THREADS)

    def spend(number: int) -> str:
        barrier.wait()
        try:
            with transaction(session_factory) as session:
                points.spend(session, customer_id, 100, reference=f"race:{number}", reason="x")
            return "spent"
        except SiyuError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = Counter(pool.map(spend, range(THREADS)))
    assert outcomes == {"spent": 5, "points.insufficient": THREADS - 5}
    with transaction(session_factory) as session:
        assert points.balance(session, customer_id) == (0, 0)
        spends = session.scalar(
            select(func.count()).select_from(PointsEntry).where(PointsEntry.kind == "spend")
        )
        assert spends == 5
        assert audit.run(session).ok


def test_racing_checkouts_with_points_never_overdraw(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cipher = make_cipher()
    threads = 8
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(10000,), warehouse_stock=100, store_stock=0)
        sku_id = shelf.skus[0].id
        customer_id = make_member(session, cipher, points_balance=6000)
    barrier = threading.Barrier(threads)

    def buy(_number: int) -> str:
        barrier.wait()
        try:
            with transaction(session_factory) as session:
                checkout_with_points(
                    session,
                    cipher,
                    settings,
                    customer_id=customer_id,
                    sku=session.get_one(Sku, sku_id),
                    spend=2000,
                )
            return "ordered"
        except SiyuError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = Counter(pool.map(buy, range(threads)))
    assert outcomes == {"ordered": 3, "points.insufficient": threads - 3}
    with transaction(session_factory) as session:
        assert points.balance(session, customer_id) == (0, 0)
        # A refused checkout left no order behind: its points were never taken.
        assert session.scalar(select(func.count()).select_from(Order)) == 3
        assert audit.run(session).ok
