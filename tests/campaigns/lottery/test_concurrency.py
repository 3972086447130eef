"""Racing draws: a prize's stock is never exceeded and a customer's chances never are.
Real commits, one transaction per thread, on both engines."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.lottery import claims, draws, reads
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.campaign import Campaign
from siyu.models.coupon import Coupon
from siyu.models.lottery import LotteryDraw, LotteryPrize, LotteryTally
from siyu.models.order import Order
from tests.campaigns.lottery.factories import coupon_prize, make_lottery
from tests.customers.factories import make_cipher
from tests.members.mall_factories import available_points, make_member, make_template
from tests.orders.factories import ADDRESS, make_shelf

CUSTOMERS = 8
STOCK = 5


def _race(count: int, attempt: Callable[[int], str]) -> Counter[str]:
    barrier = threading.Barrier(count)

    def run(index: int) -> str:
        barrier.wait()
        try:
            return attempt(index)
        except SiyuError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(run, range(count)))


def _draw(factory: sessionmaker[Session], campaign_id: int, customer_id: int) -> str:
    with transaction(factory) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return draws.draw(session, campaign, customer_id).draw.outcome


def test_racing_winners_never_exceed_a_prize_stock(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        template = make_template(session)
        campaign, _lottery = make_lottery(
            session,
            prizes=[coupon_prize(template.id, probability=10000, stock=STOCK)],
            chances_per_day=3,
        )
        campaign_id = campaign.id
        members = [make_member(session, cipher).id for _ in range(CUSTOMERS)]
    # Every value lands on the prize: all racers want it, only STOCK may have it.
    monkeypatch.setattr(draws, "random_value", lambda: 0)
    outcomes = _race(
        CUSTOMERS * 2, lambda index: _draw(session_factory, campaign_id, members[index % CUSTOMERS])
    )
    assert outcomes == Counter({"won": STOCK, "fell_back": CUSTOMERS * 2 - STOCK})
    with transaction(session_factory) as session:
        prize = session.scalars(select(LotteryPrize)).one()
        assert (prize.stock_total, prize.stock_left) == (STOCK, 0)
        assert session.scalar(select(func.count()).select_from(Coupon)) == STOCK
        figures = reads.counters(session, [campaign_id])[campaign_id]
        assert (figures["draws"], figures["wins"], figures["prizes_left"]) == (
            CUSTOMERS * 2,
            STOCK,
            0,
        )


def test_racing_draws_of_one_customer_never_exceed_their_chances(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cipher = make_cipher()
    chances = 3
    with transaction(session_factory) as session:
        template = make_template(session)
        campaign, _lottery = make_lottery(
            session,
            prizes=[coupon_prize(template.id, probability=5000, stock=100)],
            chances_per_day=chances,
            points_cost=10,
        )
        campaign_id = campaign.id
        member_id = make_member(session, cipher, points_balance=1000).id
    monkeypatch.setattr(draws, "random_value", lambda: 9999)
    outcomes = _race(12, lambda _index: _draw(session_factory, campaign_id, member_id))
    assert outcomes == Counter({"thanks": chances, "lottery.no_chances_left": 12 - chances})
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(LotteryDraw)) == chances
        assert session.scalar(select(LotteryTally.draws)) == chances
        # Refused draws paid nothing.
        assert available_points(session, member_id) == 1000 - 10 * chances


def test_racing_claims_of_one_goods_prize_place_one_order(
    session_factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session, prices=(12900,), warehouse_stock=10, store_stock=0)
        campaign, _lottery = make_lottery(
            session,
            prizes=[
                {
                    "name": "口红",
                    "kind": "goods",
                    "probability": 10000,
                    "stock": 1,
                    "sku_id": shelf.skus[0].id,
                }
            ],
        )
        member_id = make_member(session, cipher).id
        monkeypatch.setattr(draws, "random_value", lambda: 0)
        draw_id = draws.draw(session, campaign, member_id).draw.public_id

    def claim(_index: int) -> str:
        with transaction(session_factory) as session:
            claims.claim(session, cipher, settings, member_id, draw_id, address=dict(ADDRESS))
            return "ok"

    outcomes = _race(6, claim)
    assert outcomes == Counter({"ok": 1, "lottery.not_claimable": 5})
    with transaction(session_factory) as session:
        orders = session.scalars(select(Order)).all()
        assert [(order.total_amount, order.status) for order in orders] == [(0, "paid")]
        row = session.scalars(select(LotteryDraw)).one()
        assert (row.claim_status, row.order_id) == ("claimed", orders[0].id)
