"""Assists through the services: unlocking, coupon and gift rewards, the 0-yuan
claim, and every refusal leaving nothing changed (both engines)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.assist import assists, service
from siyu.campaigns.assist.assists import ClaimRequest
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.bargain import AssistRewardKind
from siyu.models.coupon import Coupon
from siyu.models.order import Order, OrderStatus
from siyu.models.outbox import OutboxEvent
from tests.campaigns.assist.factories import make_assist_deal, snapshot
from tests.campaigns.bargain.factories import make_helper
from tests.orders.factories import ADDRESS

CLAIM = ClaimRequest(address=ADDRESS)


def _refused(session: Session, code: str, attempt: object) -> None:
    before = snapshot(session)
    with pytest.raises(SiyuError) as caught:
        attempt()  # type: ignore[operator]
    assert caught.value.code == code
    assert snapshot(session) == before


def test_coupon_reward_is_issued_on_unlock(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_assist_deal(session, reward_kind=AssistRewardKind.COUPON, required_assists=2)
    initiator = make_helper(session, cipher)
    assist = assists.start(session, made.campaign, made.deal, initiator.id)
    first = assists.help_assist(session, assist, make_helper(session, cipher).id)
    assert (first.unlocked, assist.assist_count, assist.status) == (False, 1, "active")
    second = assists.help_assist(session, assist, make_helper(session, cipher).id)
    assert (second.unlocked, assist.assist_count, assist.status) == (True, 2, "claimed")
    assert assist.unlocked_at == frozen_clock.now()
    reward = session.get(Coupon, assist.reward_coupon_id)
    assert reward is not None
    assert (reward.customer_id, reward.template_id) == (initiator.id, made.reward_template.id)  # type: ignore[union-attr]
    assert made.deal.reward_stock_left == 4
    late = make_helper(session, cipher)
    _refused(session, "assist.finished", lambda: assists.help_assist(session, assist, late.id))
    assert service.counters(session, [made.campaign.id])[made.campaign.id] == {
        "assists_started": 1,
        "assists_unlocked": 1,
        "assist_rewards_claimed": 1,
        "assist_helps": 2,
        "helper_benefits": 2,
        "assist_rewards_left": 4,
    }


def test_gift_is_claimed_as_a_paid_zero_yuan_order(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_assist_deal(session, required_assists=2)
    initiator = make_helper(session, cipher)
    assist = assists.start(session, made.campaign, made.deal, initiator.id)
    _refused(
        session,
        "assist.not_unlocked",
        lambda: assists.claim_gift(session, cipher, settings, assist, initiator.id, CLAIM),
    )
    for _ in range(2):
        assists.help_assist(session, assist, make_helper(session, cipher).id)
    assert (assist.status, made.deal.reward_stock_left) == ("unlocked", 4)
    stranger = make_helper(session, cipher)
    _refused(
        session,
        "assist.not_found",
        lambda: assists.claim_gift(session, cipher, settings, assist, stranger.id, CLAIM),
    )
    order = assists.claim_gift(session, cipher, settings, assist, initiator.id, CLAIM)
    assert (order.total_amount, order.shipping_amount, order.status) == (0, 0, OrderStatus.PAID)
    assert (order.items_amount, order.discount_amount) == (5900, 5900)
    assert (assist.status, assist.order_id, assist.claimed_at) == (
        "claimed",
        order.id,
        frozen_clock.now(),
    )
    paid = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.name == "order.paid"))
    assert [(p["order_id"], p["paid_amount"], p["campaign_id"]) for p in paid] == [
        (order.id, 0, made.campaign.id)
    ]
    _refused(
        session,
        "assist.already_claimed",
        lambda: assists.claim_gift(session, cipher, settings, assist, initiator.id, CLAIM),
    )


def test_helper_rules_and_expiry(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_assist_deal(session, required_assists=3, daily_help_limit=1, time_limit_minutes=60)
    initiator = make_helper(session, cipher)
    assist = assists.start(session, made.campaign, made.deal, initiator.id)
    _refused(
        session,
        "assist.already_started",
        lambda: assists.start(session, made.campaign, made.deal, initiator.id),
    )
    anonymous = make_helper(session, cipher, identified=False)
    _refused(
        session, "helper.not_identified", lambda: assists.help_assist(session, assist, anonymous.id)
    )
    _refused(session, "helper.own", lambda: assists.help_assist(session, assist, initiator.id))
    helper = make_helper(session, cipher)
    assists.help_assist(session, assist, helper.id)
    _refused(
        session, "helper.already_helped", lambda: assists.help_assist(session, assist, helper.id)
    )
    other = assists.start(session, made.campaign, made.deal, make_helper(session, cipher).id)
    _refused(session, "helper.daily_limit", lambda: assists.help_assist(session, other, helper.id))
    frozen_clock.advance(timedelta(minutes=60))
    _refused(
        session,
        "assist.expired",
        lambda: assists.help_assist(session, assist, make_helper(session, cipher).id),
    )
    again = assists.start(session, made.campaign, made.deal, initiator.id)
    session.refresh(assist)
    assert (assist.status, again.status) == ("expired", "active")


def test_last_reward_taken_refuses_the_unlocking_help(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_assist_deal(session, required_assists=1, reward_stock=1)
    first = assists.start(session, made.campaign, made.deal, make_helper(session, cipher).id)
    second = assists.start(session, made.campaign, made.deal, make_helper(session, cipher).id)
    assists.help_assist(session, first, make_helper(session, cipher).id)
    _refused(
        session,
        "assist.sold_out",
        lambda: assists.help_assist(session, second, make_helper(session, cipher).id),
    )
    _refused(
        session,
        "assist.sold_out",
        lambda: assists.start(session, made.campaign, made.deal, make_helper(session, cipher).id),
    )
    assert session.scalar(select(Order.id)) is None
