"""The demo brand's member program and offers (siyu.demo.offers), on both engines.

A small brand is committed, then the offers phase runs through the real services.
The checks recompute what they assert from the rows themselves: the points ledger,
coupon discounts against the orders' price breakdowns, and the template statistics.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.outbox import Dispatcher, default_registry, outbox_stats
from siyu.core.settings import Settings
from siyu.coupons import stats
from siyu.demo.offers import OffersSummary, run_offers
from siyu.members import audit, program
from siyu.models.coupon import Coupon, CouponStatus, CouponTemplate
from siyu.models.member import (
    GrowthEntry,
    Membership,
    MemberTier,
    PointsEntry,
    PointsExchange,
)
from siyu.models.order import Order, OrderLine
from tests.demo.conftest import small_brand

CUSTOMERS = 400
DAYS = 90


def _build(factory: sessionmaker[Session], settings: Settings) -> OffersSummary:
    with transaction(factory) as session:
        small_brand(session, settings, customers=CUSTOMERS, days=DAYS, seed=11)
    summary = run_offers(factory, settings, seed=5)
    assert summary is not None
    return summary


def _snapshot(session: Session) -> dict[str, Any]:
    """Everything the members handlers could change."""
    return {
        "members": sorted(
            session.execute(
                select(
                    Membership.customer_id,
                    Membership.tier_id,
                    Membership.growth_value,
                    Membership.points_balance,
                    Membership.points_frozen,
                )
            ).all()
        ),
        "points_entries": session.scalar(select(func.count()).select_from(PointsEntry)),
        "growth_entries": session.scalar(select(func.count()).select_from(GrowthEntry)),
    }


def _offers_rows(session: Session) -> dict[str, int]:
    return {
        "tiers": session.scalar(select(func.count()).select_from(MemberTier)) or 0,
        "templates": session.scalar(select(func.count()).select_from(CouponTemplate)) or 0,
        "coupons": session.scalar(select(func.count()).select_from(Coupon)) or 0,
        "exchanges": session.scalar(select(func.count()).select_from(PointsExchange)) or 0,
        "orders": session.scalar(select(func.count()).select_from(Order)) or 0,
    }


def test_demo_offers_program_points_coupons_and_mall(
    session_factory: sessionmaker[Session], test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    before = frozen_clock.now()
    summary = _build(session_factory, test_settings)
    # The phase moved its own clock and put the previous one back.
    assert clock.now() == before == frozen_clock.now()
    assert summary.checkouts > summary.counts["checkouts_paid"] > 0  # some left unpaid
    assert summary.counts["checkouts_with_coupon"] > 0

    with transaction(session_factory) as session:
        tiers = {tier.code: tier for tier in session.scalars(select(MemberTier))}
        assert [tiers[code].name for code in ("regular", "silver", "gold", "black")] == [
            "普通会员",
            "银卡",
            "金卡",
            "黑金",
        ]
        assert (tiers["silver"].growth_threshold, tiers["silver"].discount_rate) == (600, 9800)
        assert tiers["black"].birthday_coupon_template_id is not None
        config = program.current(session)
        assert (config.member_day.enabled, config.member_day.day_of_month) == (True, 8)
        assert (config.birthday.enabled, config.birthday.points) == (True, 200)
        # Launched 45 days ago: orders paid before earn nothing, those after do.
        assert config.counts_from == before - timedelta(days=45)
        earned_paid_at = list(
            session.scalars(
                select(Order.paid_at)
                .join(PointsEntry, PointsEntry.order_id == Order.id)
                .where(PointsEntry.kind == "earn")
            )
        )
        assert earned_paid_at
        assert min(earned_paid_at) >= config.counts_from
        assert session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.paid_at < config.counts_from, Order.paid_amount > 0)
        )
        held = Counter(session.scalars(select(Membership.tier_id)))
        assert len(held) > 1
        assert summary.tiers == {tier.name: held[tier.id] for tier in tiers.values()}

        # The ledger: the audit is clean and the kept balances are the ledger's sums.
        report = audit.run(session)
        assert report.ok
        assert report.memberships == sum(held.values()) > 0
        balances = session.execute(
            select(func.sum(Membership.points_balance), func.sum(Membership.points_frozen))
        ).one()
        by_status = dict(
            session.execute(
                select(PointsEntry.status, func.sum(PointsEntry.amount)).group_by(
                    PointsEntry.status
                )
            ).all()
        )
        assert (balances[0], balances[1]) == (by_status["available"], by_status["frozen"])
        kinds = set(session.scalars(select(PointsEntry.kind).distinct()))
        assert {"earn", "spend"} <= kinds
        assert session.scalar(
            select(func.count())
            .select_from(PointsEntry)
            .where(PointsEntry.kind == "spend", PointsEntry.order_id.is_not(None))
        )

        # Coupons used on real orders: the discount is in the order's breakdown.
        used = session.execute(
            select(Coupon, Order)
            .join(Order, Order.id == Coupon.order_id)
            .where(Coupon.status == CouponStatus.USED)
        ).all()
        assert len(used) == summary.coupons_used_on_orders > 0
        for coupon, order in used:
            breakdowns = session.scalars(
                select(OrderLine.price_breakdown).where(OrderLine.order_id == order.id)
            )
            taken = sum(
                step["amount"]
                for breakdown in breakdowns
                for step in breakdown
                if step.get("reference") == f"coupon:{coupon.code}"
            )
            assert coupon.discount_amount > 0
            assert taken == -coupon.discount_amount
            assert order.discount_amount >= coupon.discount_amount
        written_off = session.scalars(select(Coupon).where(Coupon.used_store_id.is_not(None))).all()
        assert len(written_off) == summary.coupons_written_off > 0
        assert all(coupon.redeemed_by and coupon.order_id is None for coupon in written_off)

        # Template statistics equal what the coupon and order rows say.
        templates = list(session.scalars(select(CouponTemplate)))
        computed = stats.for_templates(session, templates)
        for template in templates:
            rows = session.scalars(select(Coupon).where(Coupon.template_id == template.id)).all()
            paid = [
                (coupon, session.get(Order, coupon.order_id))
                for coupon in rows
                if coupon.status == CouponStatus.USED and coupon.order_id is not None
            ]
            paid = [(coupon, order) for coupon, order in paid if order and order.paid_at]
            figures = computed[template.id]
            assert figures.issued == len(rows) == template.issued_count
            assert figures.used == sum(1 for c in rows if c.status == CouponStatus.USED)
            assert figures.expired == sum(1 for c in rows if c.status == CouponStatus.EXPIRED)
            assert figures.gmv == sum(order.total_amount for _, order in paid)
            assert figures.discount_cost == sum(coupon.discount_amount for coupon, _ in paid)
        totals = Counter[str]()
        for figures in computed.values():
            totals.update(
                {"issued": figures.issued, "used": figures.used, "expired": figures.expired}
            )
            totals["gmv"] += figures.gmv
        assert all(totals[key] > 0 for key in ("issued", "used", "expired", "gmv"))
        assert totals["issued"] == summary.coupons_issued

        # Points-mall exchanges: coupons and goods, the goods through mall orders.
        exchanges = session.scalars(select(PointsExchange)).all()
        assert len(exchanges) == summary.exchanges > 0
        assert any(e.coupon_id for e in exchanges)
        assert any(e.order_id for e in exchanges)
        assert all(e.points > 0 for e in exchanges)
        # The unpaid checkouts are still inside their payment window at "now".
        unpaid = session.scalars(
            select(Order).where(
                Order.status == "pending_payment", Order.created_at > before - timedelta(hours=1)
            )
        ).all()
        assert unpaid
        assert all(order.payment_deadline > before for order in unpaid)
        pending_before = outbox_stats(session)["pending"]
        snapshot = _snapshot(session)

    # The worker dispatching every pending event afterwards changes no balance: the
    # members handlers find their references written and do nothing.
    handled = Dispatcher(session_factory, default_registry()).dispatch_pending()
    assert handled == pending_before
    with transaction(session_factory) as session:
        assert outbox_stats(session)["dead"] == 0
        assert _snapshot(session) == snapshot
        assert audit.run(session).ok
        rows = _offers_rows(session)

    # A second run finds the tiers and adds nothing.
    assert run_offers(session_factory, test_settings, seed=5) is None
    with transaction(session_factory) as session:
        assert _offers_rows(session) == rows
        assert _snapshot(session) == snapshot
