"""The member_tier and points pricing steps, line by line."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from siyu.catalog.prices import SellableSku
from siyu.core.crypto import PiiCipher
from siyu.members.errors import PointsBelowMinimum, PointsInvalidAmount
from siyu.members.pricing import member_tier_step, points_step
from siyu.models.catalog import SalesChannel
from siyu.models.order import Fulfilment
from siyu.orders.pricing.pipeline import Adjustment, PricingContext, PricingLine
from tests.members.factories import make_ladder, make_member, membership, set_program

pytestmark = pytest.mark.usefixtures("settings")


def _sku(price: int) -> SellableSku:
    return SellableSku(1, 1, None, "口红", "SKU", {}, None, price, price, "sale_price", 10, 0)


def _context(customer_id: int | None, *prices: int, **options: int) -> PricingContext:
    lines = []
    for number, price in enumerate(prices, start=1):
        line = PricingLine(line_no=number, sku=_sku(price), quantity=1)
        line.adjustments.append(Adjustment("base_price", "sale_price", price, "商品价"))
        lines.append(line)
    return PricingContext(
        customer_id=customer_id,
        channel=SalesChannel.MALL,
        store_id=None,
        fulfilment=Fulfilment.DELIVERY,
        lines=lines,
        shipping_fee=1000,
        free_shipping_threshold=9900,
        options=dict(options),
    )


def test_tier_discount_skips_campaign_and_locked_lines_and_lowers_free_shipping(
    session: Session, cipher: PiiCipher
) -> None:
    tiers = make_ladder(session)
    tiers["gold"].free_shipping_threshold = 0
    customer_id = make_member(session, cipher)
    membership(session, customer_id).tier_id = tiers["gold"].id
    session.flush()
    context = _context(customer_id, 10000, 5000, 3333)
    context.lines[1].campaign_id = 7
    context.lines[2].price_locked = True
    member_tier_step(session, context)
    assert [line.goods_amount for line in context.lines] == [9500, 5000, 3333]
    assert context.lines[0].adjustments[-1].label == "金卡 9.5折"
    assert context.free_shipping_threshold == 0
    assert context.details["member_tier"]["discount_amount"] == 500


def test_non_members_and_guests_get_no_tier_step(session: Session, cipher: PiiCipher) -> None:
    make_ladder(session)
    guest = _context(None, 10000)
    member_tier_step(session, guest)
    assert guest.details == {}
    assert guest.lines[0].goods_amount == 10000


def test_points_step_caps_converts_and_rounds_down_to_whole_fen(
    session: Session, cipher: PiiCipher
) -> None:
    # 150 points per yuan: 1 fen = 1.5 points; 20 % of ¥33.33 = 666 fen = 999 points.
    set_program(session, points_value=150)
    customer_id = make_member(session, cipher, points_balance=5000)
    context = _context(customer_id, 3333, **{"points": 1000})
    points_step(session, context)
    assert context.details["points"] == {
        "balance": 5000,
        "max_points": 999,
        "requested": 1000,
        "spend_points": 999,
        "deduction_amount": 666,
        "points_value": 150,
    }
    assert context.lines[0].goods_amount == 3333 - 666
    # 100 points buy 66 fen (66.67 rounded down), for which 99 points are enough.
    small = _context(customer_id, 3333, **{"points": 100})
    points_step(session, small)
    assert (
        small.details["points"]["deduction_amount"],
        small.details["points"]["spend_points"],
    ) == (66, 99)


def test_points_step_refuses_bad_requests(session: Session, cipher: PiiCipher) -> None:
    set_program(session, min_spend_points=100)
    customer_id = make_member(session, cipher, points_balance=500)
    with pytest.raises(PointsBelowMinimum):
        points_step(session, _context(customer_id, 10000, **{"points": 99}))
    with pytest.raises(PointsInvalidAmount):
        points_step(session, _context(customer_id, 10000, **{"points": -1}))
    untouched = _context(customer_id, 10000)
    points_step(session, untouched)
    assert untouched.lines[0].goods_amount == 10000
    assert untouched.details["points"]["max_points"] == 500
    assert untouched.details["points"]["spend_points"] == 0
