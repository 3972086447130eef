"""Starting, helping and buying bargains through the services, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns import helping
from siyu.campaigns.bargain import bargains, cuts, plan_audit, service
from siyu.campaigns.bargain.bargains import BuyRequest
from siyu.campaigns.bargain.tasks import on_order_cancelled, on_order_paid
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.bargain import BargainHelp, BargainStatus
from siyu.models.coupon import Coupon
from siyu.models.order import Order, OrderStatus
from siyu.orders import lifecycle
from tests.campaigns.bargain.factories import make_deal, make_helper, snapshot
from tests.members.mall_factories import deliver
from tests.orders.factories import ADDRESS, pay

BUY = BuyRequest(address=ADDRESS)


def _refused(session: Session, code: str, attempt: object) -> None:
    before = snapshot(session)
    with pytest.raises(SiyuError) as caught:
        attempt()  # type: ignore[operator]
    assert caught.value.code == code
    assert snapshot(session) == before


def test_helps_follow_the_seeded_plan_to_the_floor(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, expected_helpers=4)
    initiator = make_helper(session, cipher, name="韩梅梅")
    bargain = bargains.start(session, made.campaign, made.deal, initiator.id)
    assert (bargain.current_price, bargain.status) == (12900, "active")
    assert bargain.expires_at == frozen_clock.now() + timedelta(days=1)
    plan = cuts.plan(bargain.seed, 10000, 4)
    helpers = [make_helper(session, cipher) for _ in range(4)]
    results = [bargains.help_bargain(session, bargain, helper.id) for helper in helpers]
    assert [result.help.cut_amount for result in results] == plan
    assert [result.help.sequence for result in results] == [1, 2, 3, 4]
    assert [result.help.price_after for result in results] == cuts.prices_after(12900, plan)
    assert (bargain.current_price, bargain.helper_count, bargain.status) == (2900, 4, "reached")
    assert bargain.reached_at == frozen_clock.now()
    # Every helper got their coupon, one each.
    owners = session.scalars(select(Coupon.customer_id).order_by(Coupon.id)).all()
    assert owners == [helper.id for helper in helpers]
    assert all(result.coupon_code for result in results)
    audit = plan_audit.audit(session, bargain)
    assert audit.matches is True
    assert [entry.recorded_cut for entry in audit.entries] == plan
    # A fifth helper finds it finished: nothing changes.
    late = make_helper(session, cipher)
    _refused(session, "bargain.finished", lambda: bargains.help_bargain(session, bargain, late.id))


def test_helper_rules_refuse_and_change_nothing(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, expected_helpers=5, daily_help_limit=2)
    other = make_deal(session, expected_helpers=5, daily_help_limit=2)
    initiator = make_helper(session, cipher)
    bargain = bargains.start(session, made.campaign, made.deal, initiator.id)
    anonymous = make_helper(session, cipher, identified=False)
    _refused(
        session,
        "helper.not_identified",
        lambda: bargains.help_bargain(session, bargain, anonymous.id),
    )
    _refused(session, "helper.own", lambda: bargains.help_bargain(session, bargain, initiator.id))
    helper = make_helper(session, cipher)
    bargains.help_bargain(session, bargain, helper.id)
    _refused(
        session,
        "helper.already_helped",
        lambda: bargains.help_bargain(session, bargain, helper.id),
    )
    # The daily limit counts across bargains of the mechanic: 2 a day.
    second = bargains.start(session, other.campaign, other.deal, make_helper(session, cipher).id)
    bargains.help_bargain(session, second, helper.id)
    third = bargains.start(session, other.campaign, other.deal, make_helper(session, cipher).id)
    _refused(
        session, "helper.daily_limit", lambda: bargains.help_bargain(session, third, helper.id)
    )
    assert helping.helps_today(session, helper.id, helping.BARGAIN) == 2
    # After midnight in Shanghai (10:00 now), the helper may help again.
    frozen_clock.advance(timedelta(hours=15))
    bargains.help_bargain(session, third, helper.id)


def test_expired_bargain_refuses_help_and_purchase(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, time_limit_minutes=30)
    initiator = make_helper(session, cipher)
    bargain = bargains.start(session, made.campaign, made.deal, initiator.id)
    assert bargains.latest_of(session, made.deal.id, initiator.id) is bargain
    frozen_clock.advance(timedelta(minutes=30))
    assert bargains.status_of(bargain) == "expired"
    assert bargains.latest_of(session, made.deal.id, initiator.id) is None
    helper = make_helper(session, cipher)
    _refused(session, "bargain.expired", lambda: bargains.help_bargain(session, bargain, helper.id))
    _refused(
        session,
        "bargain.expired",
        lambda: bargains.buy(session, cipher, settings, bargain, initiator.id, BUY),
    )
    # A new bargain may start once the old one is over; the old is marked expired.
    again = bargains.start(session, made.campaign, made.deal, initiator.id)
    session.refresh(bargain)
    assert (bargain.status, again.status) == ("expired", "active")


def test_one_live_bargain_per_customer_and_campaign_phase(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session)
    initiator = make_helper(session, cipher)
    bargains.start(session, made.campaign, made.deal, initiator.id)
    _refused(
        session,
        "bargain.already_started",
        lambda: bargains.start(session, made.campaign, made.deal, initiator.id),
    )
    frozen_clock.advance(timedelta(days=3))
    _refused(
        session,
        "campaign.ended",
        lambda: bargains.start(session, made.campaign, made.deal, make_helper(session, cipher).id),
    )


def test_buy_at_current_price_then_paid_then_twice_refused(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, expected_helpers=5, stock=3)
    initiator = make_helper(session, cipher)
    bargain = bargains.start(session, made.campaign, made.deal, initiator.id)
    first = bargains.help_bargain(session, bargain, make_helper(session, cipher).id)
    stranger = make_helper(session, cipher)
    _refused(
        session,
        "bargain.not_found",
        lambda: bargains.buy(session, cipher, settings, bargain, stranger.id, BUY),
    )
    order = bargains.buy(session, cipher, settings, bargain, initiator.id, BUY)
    price = 12900 - first.help.cut_amount
    assert order.items_amount - order.discount_amount == price
    assert order.campaign_id == made.campaign.id
    assert (bargain.status, bargain.ordered_price, bargain.order_id) == ("ordered", price, order.id)
    assert made.deal.stock_left == 2
    # Helps stop once ordered; buying again is refused.
    _refused(
        session,
        "bargain.already_ordered",
        lambda: bargains.help_bargain(session, bargain, make_helper(session, cipher).id),
    )
    _refused(
        session,
        "bargain.already_ordered",
        lambda: bargains.buy(session, cipher, settings, bargain, initiator.id, BUY),
    )
    pay(session, settings, order)
    assert deliver(session, "order.paid", on_order_paid) == 1
    deliver(session, "order.paid", on_order_paid)  # a repeat changes nothing
    session.refresh(bargain)
    assert (bargain.status, bargain.purchased_at) == ("purchased", frozen_clock.now())
    figures = service.counters(session, [made.campaign.id])[made.campaign.id]
    assert figures == {
        "bargains_started": 1,
        "bargains_completed": 0,
        "bargains_purchased": 1,
        "bargain_helps": 1,
        "helper_benefits": 1,
        "bargain_stock_left": 2,
    }


def test_cancelled_order_reopens_the_bargain_and_returns_stock(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, expected_helpers=1, stock=1)
    initiator = make_helper(session, cipher)
    bargain = bargains.start(session, made.campaign, made.deal, initiator.id)
    bargains.help_bargain(session, bargain, make_helper(session, cipher).id)
    other = bargains.start(session, made.campaign, made.deal, make_helper(session, cipher).id)
    order = bargains.buy(session, cipher, settings, bargain, initiator.id, BUY)
    assert order.total_amount == 2900 + order.shipping_amount
    _refused(
        session,
        "bargain.sold_out",
        lambda: bargains.start(session, made.campaign, made.deal, make_helper(session, cipher).id),
    )
    _refused(
        session,
        "bargain.sold_out",
        lambda: bargains.buy(session, cipher, settings, other, other.customer_id, BUY),
    )
    lifecycle.cancel(session, order, actor="test", reason="timeout")
    assert deliver(session, "order.cancelled", on_order_cancelled) == 1
    deliver(session, "order.cancelled", on_order_cancelled)
    session.refresh(bargain)
    session.refresh(made.deal)
    assert (bargain.status, bargain.order_id, made.deal.stock_left) == ("reached", None, 1)
    again = bargains.buy(session, cipher, settings, bargain, initiator.id, BUY)
    assert again.id != order.id


def test_zero_floor_is_paid_without_a_provider(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, price=990, floor_price=0, expected_helpers=2)
    initiator = make_helper(session, cipher)
    bargain = bargains.start(session, made.campaign, made.deal, initiator.id)
    for _ in range(2):
        bargains.help_bargain(session, bargain, make_helper(session, cipher).id)
    # Bargained down to 0: it ships free and is paid without a provider.
    order = bargains.buy(session, cipher, settings, bargain, initiator.id, BUY)
    assert (order.total_amount, order.shipping_amount, order.status) == (0, 0, OrderStatus.PAID)
    assert deliver(session, "order.paid", on_order_paid) == 1
    session.refresh(bargain)
    assert bargain.status == BargainStatus.PURCHASED


def test_audit_detects_a_tampered_cut(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, expected_helpers=3)
    bargain = bargains.start(session, made.campaign, made.deal, make_helper(session, cipher).id)
    bargains.help_bargain(session, bargain, make_helper(session, cipher).id)
    assert plan_audit.audit(session, bargain).matches is True
    row = session.scalars(select(BargainHelp)).one()
    row.cut_amount += 1
    session.flush()
    assert plan_audit.audit(session, bargain).matches is False


def test_helper_benefit_refusal_undoes_the_help(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, template_quantity=1)
    bargain = bargains.start(session, made.campaign, made.deal, make_helper(session, cipher).id)
    bargains.help_bargain(session, bargain, make_helper(session, cipher).id)
    late = make_helper(session, cipher)
    _refused(session, "coupon.exhausted", lambda: bargains.help_bargain(session, bargain, late.id))
    assert session.scalar(select(Order.id)) is None
