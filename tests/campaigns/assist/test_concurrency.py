"""Racing assists with real commits on both engines: exactly N count, one unlock,
one reward taken, and racing claims place one order."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.assist import assists
from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.models.bargain import Assist, AssistDeal, AssistHelp, AssistRewardKind
from siyu.models.coupon import Coupon
from siyu.models.order import Order
from tests.campaigns.assist.factories import make_assist_deal
from tests.campaigns.bargain.factories import make_helper, race
from tests.customers.factories import make_cipher
from tests.orders.factories import ADDRESS

THREADS = 8


def test_racing_assists_unlock_once(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        made = make_assist_deal(session, reward_kind=AssistRewardKind.COUPON, required_assists=3)
        initiator_id = make_helper(session, cipher).id
        assist_id = assists.start(session, made.campaign, made.deal, initiator_id).id
        deal_id = made.deal.id
        helper_ids = [make_helper(session, cipher).id for _ in range(THREADS)]

    def attempt(index: int) -> None:
        with transaction(session_factory) as session:
            row = session.get(Assist, assist_id)
            assert row is not None
            assists.help_assist(session, row, helper_ids[index])

    outcome = race(THREADS, attempt)
    assert outcome == Counter({"ok": 3, "assist.finished": THREADS - 3})
    with transaction(session_factory) as session:
        row = session.get(Assist, assist_id)
        deal = session.get(AssistDeal, deal_id)
        assert row is not None
        assert deal is not None
        assert (row.assist_count, row.status, deal.reward_stock_left) == (3, "claimed", 4)
        sequences = session.scalars(select(AssistHelp.sequence).order_by(AssistHelp.sequence))
        assert list(sequences) == [1, 2, 3]
        rewards = session.scalar(
            select(func.count(Coupon.id)).where(Coupon.customer_id == initiator_id)
        )
        assert (rewards, session.scalar(select(func.count(Coupon.id)))) == (1, 4)


def test_racing_claims_place_one_order(
    session_factory: sessionmaker[Session], settings: Settings, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        made = make_assist_deal(session, required_assists=1)
        initiator_id = make_helper(session, cipher).id
        assist = assists.start(session, made.campaign, made.deal, initiator_id)
        assists.help_assist(session, assist, make_helper(session, cipher).id)
        assist_id = assist.id

    def attempt(_index: int) -> None:
        with transaction(session_factory) as session:
            row = session.get(Assist, assist_id)
            assert row is not None
            assists.claim_gift(
                session,
                cipher,
                settings,
                row,
                initiator_id,
                assists.ClaimRequest(address=ADDRESS),
            )

    outcome = race(4, attempt)
    assert outcome == Counter({"ok": 1, "assist.already_claimed": 3})
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count(Order.id))) == 1
        assert session.scalar(select(Order.total_amount)) == 0
