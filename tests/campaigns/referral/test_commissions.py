"""Commissions follow the money: frozen on payment, settled by the job once the order
is final, reversed pro rata on refunds — each exactly once, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.referral import binding, commissions, rules
from siyu.campaigns.referral import tasks as referral_tasks
from siyu.campaigns.referral.schemas import RuleIn
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.job import Job
from siyu.models.referral import (
    Commission,
    CommissionMode,
    ReferralAttribution,
    RuleScope,
)
from tests.campaigns.referral.factories import (
    ACTOR,
    balances,
    bound_buyer,
    buy,
    deliver,
    finalise,
    ledger_sums,
    make_programme,
    make_promoter,
    redeliver_all,
    refund,
)
from tests.catalog.factories import make_category, make_product, make_sku, put_stock
from tests.customers.factories import make_customer
from tests.orders.factories import make_shelf


def _commissions(session: Session, order_id: int) -> list[tuple[int, int, int, int, str]]:
    rows = session.scalars(
        select(Commission).where(Commission.order_id == order_id).order_by(Commission.id)
    ).all()
    return [
        (row.level, row.base_amount, row.amount, row.reversed_amount, row.status) for row in rows
    ]


def test_two_levels_frozen_on_payment_then_settled_by_the_job(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_programme(session, level1=1000, level2=200)
    shelf = make_shelf(session, prices=(12900,))
    parent = make_promoter(session, cipher)
    child = make_promoter(session, cipher, parent=parent)
    buyer = bound_buyer(session, cipher, child)
    order, _lines = buy(session, cipher, settings, customer_id=buyer, items=[(shelf.skus[0], 2)])
    attribution = session.get(ReferralAttribution, order.id)
    assert attribution is not None
    assert (attribution.promoter_id, attribution.parent_promoter_id) == (child.id, parent.id)
    # 25800 × 10 % = 2580 for the child, × 2 % = 516 for the parent, both frozen.
    assert _commissions(session, order.id) == [
        (1, 25800, 2580, 0, "frozen"),
        (2, 25800, 516, 0, "frozen"),
    ]
    assert balances(session, child) == (2580, 0, 0, 0)
    assert balances(session, parent) == (516, 0, 0, 0)
    redeliver_all(session)  # at least once: nothing doubles
    assert balances(session, child) == (2580, 0, 0, 0)

    finalise(session, settings, order)
    job = session.scalars(select(Job).where(Job.task == commissions.SETTLE_TASK)).one()
    assert job.payload == {"order_id": order.id}
    referral_tasks.settle(session, job.payload)
    referral_tasks.settle(session, job.payload)  # a retried job settles nothing twice
    assert balances(session, child) == (0, 2580, 0, 0)
    assert balances(session, parent) == (0, 516, 0, 0)
    assert [row[4] for row in _commissions(session, order.id)] == ["settled", "settled"]
    assert ledger_sums(session, child) == balances(session, child)


def test_refunds_reverse_pro_rata_exactly_once(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_programme(session, level1=1000, level2=0)
    shelf = make_shelf(session, prices=(3333,))
    promoter = make_promoter(session, cipher)
    buyer = bound_buyer(session, cipher, promoter)
    order, lines = buy(session, cipher, settings, customer_id=buyer, items=[(shelf.skus[0], 3)])
    assert _commissions(session, order.id) == [(1, 9999, 999, 0, "frozen")]
    refund(session, order, lines[0], 1)
    # 999 × 3333 / 9999 = 333 reversed.
    assert _commissions(session, order.id) == [(1, 9999, 999, 333, "frozen")]
    assert balances(session, promoter) == (666, 0, 0, 0)
    redeliver_all(session)
    assert balances(session, promoter) == (666, 0, 0, 0)
    refund(session, order, None)
    assert _commissions(session, order.id) == [(1, 9999, 999, 999, "reversed")]
    assert balances(session, promoter) == (0, 0, 0, 0)
    assert ledger_sums(session, promoter) == (0, 0, 0, 0)


def test_partial_refund_then_final_settles_the_rest(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_programme(session, level1=500, level2=0)
    shelf = make_shelf(session, prices=(10000, 20000))
    promoter = make_promoter(session, cipher)
    buyer = bound_buyer(session, cipher, promoter)
    order, lines = buy(
        session, cipher, settings, customer_id=buyer, items=[(shelf.skus[0], 1), (shelf.skus[1], 1)]
    )
    assert balances(session, promoter) == (1500, 0, 0, 0)
    refund(session, order, lines[0], 1)
    assert balances(session, promoter) == (1000, 0, 0, 0)
    finalise(session, settings, order)
    assert commissions.settle_due(session) == 1000
    assert balances(session, promoter) == (0, 1000, 0, 0)
    assert [row[4] for row in _commissions(session, order.id)] == ["reversed", "settled"]


def test_product_rule_beats_category_beats_default(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    campaign = make_programme(session, level1=100, level2=0)
    shelf = make_shelf(session, prices=(10000,))
    category = make_category(session)
    product = make_product(session, category_id=category.id)
    in_category = make_sku(session, product=product, list_price=12000, sale_price=10000)

    put_stock(session, sku=in_category, location=shelf.warehouse, quantity=10)
    rules.put(
        session,
        ACTOR,
        campaign.id,
        RuleIn(scope=RuleScope.CATEGORY, target_id=category.id, level1_value=2000),
    )
    rules.put(
        session,
        ACTOR,
        campaign.id,
        RuleIn(
            scope=RuleScope.PRODUCT,
            target_id=shelf.skus[0].product_id,
            mode=CommissionMode.FIXED,
            level1_value=300,
        ),
    )
    promoter = make_promoter(session, cipher)
    buyer = bound_buyer(session, cipher, promoter)
    order, _ = buy(
        session, cipher, settings, customer_id=buyer, items=[(shelf.skus[0], 2), (in_category, 1)]
    )
    # product rule: 300 fen × 2 units; category rule: 20 % of 10000.
    assert [row[2] for row in _commissions(session, order.id)] == [600, 2000]


def test_self_referral_and_unbound_orders_pay_nothing(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_programme(session)
    shelf = make_shelf(session, prices=(10000,))
    promoter = make_promoter(session, cipher)
    assert promoter.customer_id is not None
    own, _ = buy(
        session, cipher, settings, customer_id=promoter.customer_id, items=[(shelf.skus[0], 1)]
    )
    stranger = make_customer(session, cipher)
    unbound, _ = buy(session, cipher, settings, customer_id=stranger.id, items=[(shelf.skus[0], 1)])
    assert session.get(ReferralAttribution, own.id) is None
    assert session.get(ReferralAttribution, unbound.id) is None
    assert balances(session, promoter) == (0, 0, 0, 0)


def test_parent_buying_through_child_gets_level_one_only_for_the_child(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_programme(session, level1=1000, level2=500)
    shelf = make_shelf(session, prices=(10000,))
    parent = make_promoter(session, cipher)
    child = make_promoter(session, cipher, parent=parent)
    assert parent.customer_id is not None
    binding.bind(session, parent.customer_id, child.code)
    order, _ = buy(
        session, cipher, settings, customer_id=parent.customer_id, items=[(shelf.skus[0], 1)]
    )
    assert _commissions(session, order.id) == [(1, 10000, 1000, 0, "frozen")]
    assert balances(session, parent) == (0, 0, 0, 0)


def test_binding_window_and_programme_dates_bound_attribution(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: clock.FrozenClock
) -> None:
    make_programme(session, bind_days=7, lasts=timedelta(days=30))
    shelf = make_shelf(session, prices=(10000,))
    promoter = make_promoter(session, cipher)
    buyer = bound_buyer(session, cipher, promoter)
    frozen_clock.advance(timedelta(days=8))
    late, _ = buy(session, cipher, settings, customer_id=buyer, items=[(shelf.skus[0], 1)])
    assert session.get(ReferralAttribution, late.id) is None
    binding.bind(session, buyer, promoter.code)
    frozen_clock.advance(timedelta(days=25))  # the programme ended
    after, _ = buy(session, cipher, settings, customer_id=buyer, items=[(shelf.skus[0], 1)])
    assert session.get(ReferralAttribution, after.id) is None


def test_unpaid_orders_earn_nothing(
    session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    make_programme(session)
    shelf = make_shelf(session, prices=(10000,))
    promoter = make_promoter(session, cipher)
    buyer = bound_buyer(session, cipher, promoter)
    order, _ = buy(
        session, cipher, settings, customer_id=buyer, items=[(shelf.skus[0], 1)], paid=False
    )
    assert session.get(ReferralAttribution, order.id) is not None
    assert deliver(session) == 0
    assert _commissions(session, order.id) == []


@pytest.mark.parametrize("mode", [CommissionMode.RATE, CommissionMode.FIXED])
def test_amount_for_never_exceeds_the_line(mode: CommissionMode) -> None:
    from siyu.models.referral import CommissionRule

    rule = CommissionRule(mode=mode.value, level1_value=10_000, level2_value=0)
    assert rules.amount_for(rule, 1, 999, 3) == 999
