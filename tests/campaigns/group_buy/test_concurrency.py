"""Races, with real commits and one transaction per thread, on both engines: the
deadline refund runs once when two workers conclude the same group; racing joiners
never take more seats than the group has; one customer racing themselves joins once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.group_buy import participation, settlement
from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.group_buy import GroupBuyDeal, GroupBuyGroup, GroupBuyMember
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import Refund
from tests.campaigns.group_buy.factories import (
    DELIVERY,
    join_and_pay,
    make_deal,
    open_and_pay,
    submit_refunds,
)
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import make_shelf, pay

JOINERS = 8


def _race(count: int, attempt: Callable[[int], object]) -> Counter[str]:
    barrier = threading.Barrier(count)

    def run(index: int) -> str:
        barrier.wait()
        try:
            outcome = attempt(index)
        except SiyuError as error:
            return error.code
        return str(outcome)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(run, range(count)))


def test_two_workers_concluding_one_group_refund_each_member_once(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(12900,), store_stock=0)
        _campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=4)
        group, _ = open_and_pay(session, cipher, settings, deal, make_customer(session, cipher).id)
        for _ in range(2):
            join_and_pay(session, cipher, settings, group, make_customer(session, cipher).id)
        group_id = group.id
    frozen_clock.advance(timedelta(hours=1))

    def conclude(_index: int) -> bool:
        with transaction(session_factory) as session:
            return settlement.conclude(session, group_id)

    assert _race(2, conclude) == Counter({"True": 1, "False": 1})
    with transaction(session_factory) as session:
        assert len(list(session.scalars(select(Refund)))) == 3
        assert submit_refunds(session) == 3
    with transaction(session_factory) as session:
        statuses = Counter(session.scalars(select(Order.status)))
        assert statuses == Counter({OrderStatus.REFUNDED.value: 3})
        assert session.get(GroupBuyGroup, group_id).status == "failed"  # type: ignore[union-attr]
        assert set(session.scalars(select(GroupBuyMember.status))) == {"refunded"}
        deal_row = session.scalars(select(GroupBuyDeal)).one()
        assert deal_row.stock_left == deal_row.stock_total


def test_racing_joiners_take_exactly_the_free_seats(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(12900,), store_stock=0)
        _campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=3)
        group, _ = open_and_pay(session, cipher, settings, deal, make_customer(session, cipher).id)
        group_id = group.id
        joiners = [make_customer(session, cipher).id for _ in range(JOINERS)]

    def join(index: int) -> str:
        with transaction(session_factory) as session:
            row = session.get(GroupBuyGroup, group_id)
            assert row is not None
            participation.join_group(session, cipher, settings, joiners[index], row, DELIVERY)
            return "ok"

    outcomes = _race(JOINERS, join)
    assert outcomes == Counter({"ok": 2, "group_buy.group_full": JOINERS - 2})
    with transaction(session_factory) as session:
        row = session.get(GroupBuyGroup, group_id)
        assert row is not None
        assert (row.member_count, row.paid_count) == (3, 1)
        assert len(list(session.scalars(select(GroupBuyMember)))) == 3
        assert len(list(session.scalars(select(Order)))) == 3
        deal_row = session.scalars(select(GroupBuyDeal)).one()
        assert deal_row.stock_left == deal_row.stock_total - 3


def test_one_customer_racing_themselves_joins_once(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(12900,), store_stock=0)
        _campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=5)
        group, _ = open_and_pay(session, cipher, settings, deal, make_customer(session, cipher).id)
        group_id = group.id
        customer_id = make_customer(session, cipher).id

    def join(_index: int) -> str:
        with transaction(session_factory) as session:
            row = session.get(GroupBuyGroup, group_id)
            assert row is not None
            participation.join_group(session, cipher, settings, customer_id, row, DELIVERY)
            return "ok"

    assert _race(4, join) == Counter({"ok": 1, "group_buy.already_joined": 3})
    with transaction(session_factory) as session:
        row = session.get(GroupBuyGroup, group_id)
        assert row is not None
        assert row.member_count == 2
        deal_row = session.scalars(select(GroupBuyDeal)).one()
        assert deal_row.stock_left == deal_row.stock_total - 2


def test_deadline_racing_a_late_payment_refunds_that_member_once(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(12900,), store_stock=0)
        _campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=3)
        group, leader_order = open_and_pay(
            session, cipher, settings, deal, make_customer(session, cipher).id
        )
        late = participation.join_group(
            session, cipher, settings, make_customer(session, cipher).id, group, DELIVERY
        )
        # The money is in; its order.paid handler has not run yet.
        pay(session, settings, late)
        group_id, late_id, leader_id = group.id, late.id, leader_order.id
    frozen_clock.advance(timedelta(hours=1))

    def race(index: int) -> str:
        with transaction(session_factory) as session:
            if index == 0:
                return str(settlement.conclude(session, group_id))
            settlement.on_paid(session, late_id)
            return "paid"

    assert _race(2, race) == Counter({"True": 1, "paid": 1})
    with transaction(session_factory) as session:
        refunded = Counter(session.scalars(select(Refund.order_id)))
        assert refunded == Counter({leader_id: 1, late_id: 1})
        assert submit_refunds(session) == 2
    with transaction(session_factory) as session:
        assert set(session.scalars(select(Order.status))) == {OrderStatus.REFUNDED.value}
        assert set(session.scalars(select(GroupBuyMember.status))) == {"refunded"}
