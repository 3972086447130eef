"""Racing helps, with real commits and one transaction per thread, on both engines:
a bargain never crosses its floor, each sequence number is taken once, and a
helper never passes the daily limit."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns import helping
from siyu.campaigns.bargain import bargains, cuts, plan_audit
from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.models.bargain import Bargain, BargainHelp
from siyu.models.campaign import HelperDailyTally
from siyu.models.coupon import Coupon
from siyu.models.order import Order
from tests.campaigns.bargain.factories import make_deal, make_helper, race
from tests.customers.factories import make_cipher
from tests.orders.factories import ADDRESS

THREADS = 10


def test_racing_helpers_stop_exactly_at_the_floor(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        made = make_deal(session, expected_helpers=4, floor_price=2900)
        bargain = bargains.start(session, made.campaign, made.deal, make_helper(session, cipher).id)
        bargain_id = bargain.id
        helper_ids = [make_helper(session, cipher).id for _ in range(THREADS)]

    def attempt(index: int) -> None:
        with transaction(session_factory) as session:
            row = session.get(Bargain, bargain_id)
            assert row is not None
            bargains.help_bargain(session, row, helper_ids[index])

    outcome = race(THREADS, attempt)
    assert outcome["ok"] == 4
    assert outcome["ok"] + outcome["bargain.finished"] == THREADS
    with transaction(session_factory) as session:
        row = session.get(Bargain, bargain_id)
        assert row is not None
        assert (row.current_price, row.helper_count, row.status) == (2900, 4, "reached")
        sequences = session.scalars(
            select(BargainHelp.sequence)
            .where(BargainHelp.bargain_id == bargain_id)
            .order_by(BargainHelp.sequence)
        ).all()
        assert sequences == [1, 2, 3, 4]
        recorded = session.scalars(
            select(BargainHelp.cut_amount).order_by(BargainHelp.sequence)
        ).all()
        assert recorded == cuts.plan(row.seed, 10000, 4)
        assert plan_audit.audit(session, row).matches is True
        assert session.scalar(select(func.count(Coupon.id))) == 4


def test_one_helper_racing_many_bargains_keeps_the_daily_limit(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    count = 6
    with transaction(session_factory) as session:
        made = make_deal(session, daily_help_limit=2)
        bargain_ids = [
            bargains.start(session, made.campaign, made.deal, make_helper(session, cipher).id).id
            for _ in range(count)
        ]
        helper_id = make_helper(session, cipher).id

    def attempt(index: int) -> None:
        with transaction(session_factory) as session:
            row = session.get(Bargain, bargain_ids[index])
            assert row is not None
            bargains.help_bargain(session, row, helper_id)

    outcome = race(count, attempt)
    assert outcome == Counter({"ok": 2, "helper.daily_limit": 4})
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count(BargainHelp.id))) == 2
        assert session.scalar(select(HelperDailyTally.helps)) == 2
        assert helping.helps_today(session, helper_id, helping.BARGAIN) == 2
        assert session.scalar(select(func.count(Coupon.id))) == 2
        assert session.scalar(select(func.sum(Bargain.helper_count))) == 2


def test_one_helper_racing_the_same_bargain_helps_once(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    count = 5
    with transaction(session_factory) as session:
        made = make_deal(session, daily_help_limit=10)
        bargain_id = bargains.start(
            session, made.campaign, made.deal, make_helper(session, cipher).id
        ).id
        helper_id = make_helper(session, cipher).id

    def attempt(_index: int) -> None:
        with transaction(session_factory) as session:
            row = session.get(Bargain, bargain_id)
            assert row is not None
            bargains.help_bargain(session, row, helper_id)

    outcome = race(count, attempt)
    assert outcome == Counter({"ok": 1, "helper.already_helped": 4})
    with transaction(session_factory) as session:
        row = session.get(Bargain, bargain_id)
        assert row is not None
        assert row.helper_count == 1
        assert session.scalar(select(HelperDailyTally.helps)) == 1
        assert session.scalar(select(func.count(Coupon.id))) == 1


def test_a_purchase_racing_helps_pays_the_price_it_froze(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        made = make_deal(session, expected_helpers=5)
        initiator_id = make_helper(session, cipher).id
        bargain_id = bargains.start(session, made.campaign, made.deal, initiator_id).id
        helper_ids = [make_helper(session, cipher).id for _ in range(THREADS - 1)]

    def attempt(index: int) -> None:
        with transaction(session_factory) as session:
            row = session.get(Bargain, bargain_id)
            assert row is not None
            if index == 0:
                bargains.buy(
                    session,
                    cipher,
                    settings,
                    row,
                    initiator_id,
                    bargains.BuyRequest(address=ADDRESS),
                )
            else:
                bargains.help_bargain(session, row, helper_ids[index - 1])

    outcome = race(THREADS, attempt)
    with transaction(session_factory) as session:
        row = session.get(Bargain, bargain_id)
        assert row is not None
        assert row.status == "ordered"
        assert row.ordered_price == row.current_price
        assert row.current_price >= row.floor_price
        order = session.get(Order, row.order_id)
        assert order is not None
        assert order.items_amount - order.discount_amount == row.ordered_price
        # Every help either landed before the purchase froze the price or was refused.
        helped = session.scalar(
            select(func.count(BargainHelp.id)).where(BargainHelp.bargain_id == bargain_id)
        )
        assert helped == row.helper_count
        assert row.current_price == 12900 - sum(cuts.plan(row.seed, 10000, 5)[: row.helper_count])
        assert outcome["ok"] == 1 + helped
        assert (
            outcome["ok"] + outcome["bargain.already_ordered"] + outcome["bargain.finished"]
            == THREADS
        )
