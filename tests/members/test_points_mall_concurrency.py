"""Racing exchanges on the last units: never oversold, never past a member's limit,
never below zero points. Real commits, one transaction per thread, on both engines."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.members import points_mall
from siyu.members.points_mall_exchange import GoodsRequest, exchange_coupon, exchange_goods
from siyu.models.coupon import Coupon
from siyu.models.member import PointsExchange, PointsMallItem, PointsMallItemKind
from siyu.models.order import Order
from tests.customers.factories import make_cipher
from tests.members.mall_factories import (
    available_points,
    make_item,
    make_member,
    make_template,
    settings,
    tally,
)
from tests.orders.factories import ADDRESS, make_shelf

__all__ = ["settings"]

MEMBERS = 6
ATTEMPTS_EACH = 4
STOCK = 7
LIMIT = 2


def _race(count: int, attempt: object) -> Counter[str]:
    barrier = threading.Barrier(count)

    def run(index: int) -> str:
        barrier.wait()
        try:
            attempt(index)  # type: ignore[operator]
        except SiyuError as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(run, range(count)))


def test_racing_coupon_exchanges_respect_stock_limits_and_balances(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        template = make_template(session)
        item = make_item(
            session,
            coupon_template_id=template.id,
            points_price=300,
            stock=STOCK,
            per_member_limit=LIMIT,
        )
        item_id = item.id
        # 700 points: enough for two exchanges only, so the balance and the limit bind together.
        members = [make_member(session, cipher, points_balance=700).id for _ in range(MEMBERS)]

    def attempt(index: int) -> None:
        with transaction(session_factory) as session:
            row = points_mall.get(session, item_id)
            exchange_coupon(session, members[index % MEMBERS], row)

    outcomes = _race(MEMBERS * ATTEMPTS_EACH, attempt)
    assert outcomes["ok"] == STOCK
    assert set(outcomes) <= {
        "ok",
        "points_mall.sold_out",
        "points_mall.limit_reached",
        "points.insufficient",
    }
    with transaction(session_factory) as session:
        row = session.get(PointsMallItem, item_id)
        assert row is not None
        assert row.stock_left == 0
        assert session.scalar(select(func.count()).select_from(Coupon)) == STOCK
        for member_id in members:
            exchanged = session.scalar(
                select(func.count())
                .select_from(PointsExchange)
                .where(PointsExchange.customer_id == member_id)
            )
            assert exchanged is not None
            assert exchanged <= LIMIT
            assert tally(session, item_id, member_id) == exchanged
            assert available_points(session, member_id) == 700 - 300 * exchanged


def test_racing_goods_exchanges_never_overdraw_points(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(5900,), warehouse_stock=50, store_stock=0)
        item = make_item(
            session,
            kind=PointsMallItemKind.GOODS,
            sku_id=shelf.skus[0].id,
            points_price=300,
            stock=20,
        )
        item_id = item.id
        member_id = make_member(session, cipher, points_balance=1000).id

    def attempt(_index: int) -> None:
        with transaction(session_factory) as session:
            row = points_mall.get(session, item_id)
            exchange_goods(
                session, cipher, settings, member_id, row, 1, GoodsRequest(address=dict(ADDRESS))
            )

    outcomes = _race(8, attempt)
    assert outcomes == {"ok": 3, "points.insufficient": 5}
    with transaction(session_factory) as session:
        assert available_points(session, member_id) == 100
        assert session.scalar(select(func.count()).select_from(Order)) == 3
        row = session.get(PointsMallItem, item_id)
        assert row is not None
        assert row.stock_left == 17
