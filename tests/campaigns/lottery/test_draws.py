"""Drawing: prizes granted, stock and chances enforced, refusals change nothing, and
every draw's record replays to its result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.lottery import claims, draws, reads, setup
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.coupon import Coupon
from siyu.models.lottery import ClaimStatus, DrawOutcome, LotteryDraw
from siyu.models.order import Order, OrderStatus
from tests.campaigns.lottery.factories import counts, coupon_prize, make_lottery
from tests.members.mall_factories import available_points, make_member, make_template, set_program
from tests.orders.factories import ADDRESS, make_shelf

pytestmark = pytest.mark.usefixtures("frozen_clock", "settings")


def _values(monkeypatch: pytest.MonkeyPatch, *values: int) -> None:
    queue = list(values)
    monkeypatch.setattr(draws, "random_value", lambda: queue.pop(0))


def _code(action: object) -> str:
    with pytest.raises(SiyuError) as caught:
        action()  # type: ignore[operator]
    return caught.value.code


def test_a_coupon_win_is_granted_and_its_record_replays(
    session: Session, cipher: PiiCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(session)
    campaign, lottery = make_lottery(
        session, prizes=[coupon_prize(template.id, probability=3000, stock=5)]
    )
    member = make_member(session, cipher)
    _values(monkeypatch, 2999)
    result = draws.draw(session, campaign, member.id)
    row = result.draw
    assert (row.outcome, row.kind, row.prize_name, row.random_value) == (
        "won",
        "coupon",
        "10 元券",
        2999,
    )
    assert result.chances_left == 0
    coupon = session.scalars(select(Coupon).where(Coupon.customer_id == member.id)).one()
    assert coupon.source_ref == f"lottery:{row.public_id}"
    assert row.granted == {"coupon_id": coupon.id, "coupon_code": coupon.code}
    prizes = setup.prizes_of(session, lottery.id)
    # The record names the table it was drawn against and replays to the same prize.
    assert (row.prize_table_version, row.prize_table_hash) == (1, setup.table_hash(prizes))
    assert len(row.prize_table_hash) == 64
    replayed = draws.pick(prizes, row.random_value)
    assert replayed is not None
    assert replayed.id == row.drawn_prize_id == row.prize_id
    assert prizes[0].stock_left == 4
    assert row.value_amount == 1000


def test_the_remainder_is_thanks_and_the_wheel_has_a_slot_for_it(
    session: Session, cipher: PiiCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(session)
    campaign, lottery = make_lottery(
        session, prizes=[coupon_prize(template.id, probability=3000, stock=5)]
    )
    member = make_member(session, cipher)
    _values(monkeypatch, 3000)
    row = draws.draw(session, campaign, member.id).draw
    assert (row.outcome, row.kind, row.drawn_prize_id, row.prize_id) == (
        "thanks",
        "thanks",
        None,
        None,
    )
    prizes = setup.prizes_of(session, lottery.id)
    assert [slot.kind for slot in reads.wheel(prizes)] == ["coupon", "thanks"]
    assert reads.slot_of(row, prizes) == 1
    assert prizes[0].stock_left == 5
    assert session.scalar(select(Coupon.id)) is None


def test_a_prize_that_ran_out_falls_back_to_thanks_and_says_so(
    session: Session, cipher: PiiCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(session)
    campaign, lottery = make_lottery(
        session,
        prizes=[coupon_prize(template.id, probability=10000, stock=1)],
        chances_per_day=2,
    )
    member = make_member(session, cipher)
    _values(monkeypatch, 10, 20)
    first = draws.draw(session, campaign, member.id).draw
    second = draws.draw(session, campaign, member.id)
    assert first.outcome == "won"
    prize = setup.prizes_of(session, lottery.id)[0]
    assert (second.draw.outcome, second.draw.kind) == ("fell_back", "thanks")
    assert (second.draw.fallback_reason, second.draw.drawn_prize_id) == ("out_of_stock", prize.id)
    assert second.draw.prize_id is None
    assert second.chances_left == 0
    assert prize.stock_left == 0
    figures = reads.counters(session, [campaign.id])[campaign.id]
    assert figures == {
        "draws": 2,
        "wins": 1,
        "winners": 1,
        "fell_back": 1,
        "cost_amount": 1000,
        "points_spent": 0,
        "prizes_left": 0,
    }


def test_a_grant_that_fails_returns_the_unit_and_falls_back(
    session: Session, cipher: PiiCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(session, total_quantity=0)
    campaign, lottery = make_lottery(
        session, prizes=[coupon_prize(template.id, probability=10000, stock=3)]
    )
    member = make_member(session, cipher)
    _values(monkeypatch, 0)
    row = draws.draw(session, campaign, member.id).draw
    assert (row.outcome, row.fallback_reason) == ("fell_back", "coupon.exhausted")
    assert setup.prizes_of(session, lottery.id)[0].stock_left == 3
    assert session.scalar(select(Coupon.id)) is None


def test_points_prize_and_points_cost(
    session: Session, cipher: PiiCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign, _lottery = make_lottery(
        session,
        prizes=[
            {
                "name": "50 积分",
                "kind": "points",
                "probability": 10000,
                "stock": 10,
                "points_amount": 50,
            }
        ],
        points_cost=20,
    )
    member = make_member(session, cipher, points_balance=100)
    _values(monkeypatch, 5)
    row = draws.draw(session, campaign, member.id).draw
    assert (row.outcome, row.points_cost, row.granted["points"]) == ("won", 20, 50)
    assert available_points(session, member.id) == 130
    # 50 points at the default 100 points per yuan cost the brand 50 fen.
    assert row.value_amount == 50


def test_too_few_points_changes_nothing(
    session: Session, cipher: PiiCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(session)
    campaign, _lottery = make_lottery(
        session, prizes=[coupon_prize(template.id, probability=10000, stock=3)], points_cost=200
    )
    member = make_member(session, cipher, points_balance=100)
    _values(monkeypatch, 0)
    before = counts(session)
    assert _code(lambda: draws.draw(session, campaign, member.id)) == "lottery.points_insufficient"
    assert counts(session) == before == (0, 0, [3])
    assert available_points(session, member.id) == 100


def test_chances_per_day_reset_at_local_midnight(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(session)
    campaign, _lottery = make_lottery(
        session, prizes=[coupon_prize(template.id, probability=0, stock=3)]
    )
    member = make_member(session, cipher)
    _values(monkeypatch, 1, 2)
    draws.draw(session, campaign, member.id)
    before = counts(session)
    assert _code(lambda: draws.draw(session, campaign, member.id)) == "lottery.no_chances_left"
    assert counts(session) == before == (1, 1, [3])
    # The frozen clock is 10:00 in Shanghai; 14 hours on is the next local day.
    frozen_clock.advance(timedelta(hours=14))
    assert draws.draw(session, campaign, member.id).chances_left == 0


def test_member_day_adds_chances(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(session)
    campaign, lottery = make_lottery(
        session,
        prizes=[coupon_prize(template.id, probability=0, stock=3)],
        member_day_extra_chances=2,
    )
    member = make_member(session, cipher)
    assert draws.chances_for(session, lottery, member.id, frozen_clock.now()) == 1
    set_program(session, member_day={"enabled": True, "day_of_month": 22})
    assert draws.chances_for(session, lottery, member.id, frozen_clock.now()) == 3
    view = reads.shop_lottery(session, campaign, lottery, member.id)
    assert (view.member_day, view.chances_today, view.chances_left) == (True, 3, 3)
    _values(monkeypatch, 1, 2, 3)
    lefts = [draws.draw(session, campaign, member.id).chances_left for _ in range(3)]
    assert lefts == [2, 1, 0]
    assert _code(lambda: draws.draw(session, campaign, member.id)) == "lottery.no_chances_left"


def test_before_the_start_and_after_the_end_nothing_changes(
    session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    template = make_template(session)
    campaign, _lottery = make_lottery(
        session,
        prizes=[coupon_prize(template.id, probability=10000, stock=3)],
        starts_in=timedelta(hours=1),
        lasts=timedelta(hours=2),
    )
    member = make_member(session, cipher)
    assert _code(lambda: draws.draw(session, campaign, member.id)) == "campaign.not_started"
    frozen_clock.advance(timedelta(hours=3))
    assert _code(lambda: draws.draw(session, campaign, member.id)) == "campaign.ended"
    assert counts(session) == (0, 0, [3])


def test_a_goods_prize_is_claimed_once_as_a_paid_zero_yuan_order(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=5, store_stock=0)
    sku = shelf.skus[0]
    campaign, _lottery = make_lottery(
        session,
        prizes=[
            {"name": "口红", "kind": "goods", "probability": 10000, "stock": 2, "sku_id": sku.id}
        ],
    )
    member = make_member(session, cipher)
    other = make_member(session, cipher)
    _values(monkeypatch, 0)
    row = draws.draw(session, campaign, member.id).draw
    assert (row.outcome, row.claim_status, row.value_amount) == ("won", "pending", 12900)
    assert row.claim_deadline == frozen_clock.now() + timedelta(days=7)
    assert (
        _code(
            lambda: claims.claim(
                session, cipher, settings, other.id, row.public_id, address=ADDRESS
            )
        )
        == "lottery.draw_not_found"
    )
    claimed, order = claims.claim(
        session, cipher, settings, member.id, row.public_id, address=ADDRESS
    )
    assert (order.total_amount, order.shipping_amount, order.status) == (0, 0, OrderStatus.PAID)
    assert order.campaign_id == campaign.id
    session.refresh(claimed)
    assert (claimed.claim_status, claimed.order_id) == (ClaimStatus.CLAIMED, order.id)
    assert (
        _code(
            lambda: claims.claim(
                session, cipher, settings, member.id, row.public_id, address=ADDRESS
            )
        )
        == "lottery.not_claimable"
    )
    assert (
        session.scalar(select(Order.id).where(Order.customer_id == member.id).limit(2)) == order.id
    )


def test_a_claim_after_its_deadline_is_refused(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=5, store_stock=0)
    campaign, _lottery = make_lottery(
        session,
        prizes=[
            {
                "name": "口红",
                "kind": "goods",
                "probability": 10000,
                "stock": 2,
                "sku_id": shelf.skus[0].id,
            }
        ],
    )
    member = make_member(session, cipher)
    _values(monkeypatch, 0)
    row = draws.draw(session, campaign, member.id).draw
    frozen_clock.advance(timedelta(days=7))
    assert (
        _code(
            lambda: claims.claim(
                session, cipher, settings, member.id, row.public_id, address=ADDRESS
            )
        )
        == "lottery.claim_expired"
    )
    assert session.scalar(select(Order.id)) is None
    assert session.get(LotteryDraw, row.id).claim_status == "pending"  # type: ignore[union-attr]
    assert row.outcome == DrawOutcome.WON
