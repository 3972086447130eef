"""The bargain and assist demo modules on a small committed brand: ended and live
campaigns with helpers, purchases and 0-yuan claims, all through the services."""

from __future__ import annotations

import random
import time
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu import handlers
from siyu.campaigns.bargain import plan_audit
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.demo.campaigns import assist, bargain
from siyu.demo.offers.context import Context
from siyu.models.bargain import Assist, Bargain, BargainHelp
from siyu.models.campaign import Campaign
from siyu.models.coupon import Coupon
from siyu.models.order import Order, OrderStatus
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import command_line_principal
from tests.demo.conftest import small_brand


def _context(settings: Settings, frozen: FrozenClock, mechanic: str) -> Context:
    key = settings.resolved_secret_key()
    return Context(
        settings=settings,
        clock=frozen,
        rng=random.Random(f"7:{mechanic}"),
        actor=command_line_principal("demo-setup"),
        now=frozen.now(),
        start=frozen.now(),
        customers=300,
        cipher=PiiCipher(key),
        sandbox=SandboxProvider(key),
    )


def test_demo_builds_ended_and_live_bargains_and_assists(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    handlers.load_all()
    with transaction(session_factory) as session:
        small_brand(session, settings, customers=300)
    now = clock.now()
    frozen = FrozenClock(now)
    previous = clock.install(frozen)
    try:
        started = time.perf_counter()
        bargain_figures = bargain.build(session_factory, _context(settings, frozen, "bargain"))
        assert frozen.now() == now
        assist_figures = assist.build(session_factory, _context(settings, frozen, "assist"))
        assert frozen.now() == now
        assert time.perf_counter() - started < 15
        with transaction(session_factory) as session:
            campaigns = list(session.scalars(select(Campaign).order_by(Campaign.starts_at)))
            assert Counter((c.kind, phases.phase_of(c).value) for c in campaigns) == Counter(
                {
                    ("bargain", "ended"): 1,
                    ("bargain", "live"): 1,
                    ("assist", "ended"): 1,
                    ("assist", "live"): 1,
                }
            )
            rows = list(session.scalars(select(Bargain)))
            assert len(rows) == bargain_figures["bargains"] == 13
            assert all(plan_audit.audit(session, row).matches for row in rows)
            purchased = [row for row in rows if row.status == "purchased"]
            assert len(purchased) == bargain_figures["purchased"] == 6
            paid = session.scalars(
                select(Order.status).where(Order.id.in_([row.order_id for row in purchased]))
            )
            assert set(paid) == {OrderStatus.PAID.value}
            helps = session.scalar(select(func.count(BargainHelp.id)))
            assert helps == bargain_figures["helps"]
            assert bargain_figures["completed"] >= 4
            assists = list(session.scalars(select(Assist)))
            assert len(assists) == assist_figures["assists"] == 11
            claimed = [row for row in assists if row.order_id is not None]
            assert len(claimed) == 3
            totals = session.scalars(
                select(Order.total_amount).where(Order.id.in_([row.order_id for row in claimed]))
            )
            assert set(totals) == {0}
            # Every help, bargain or assist, gave its helper a coupon.
            helper_coupons = session.scalar(
                select(func.count(Coupon.id)).where(
                    Coupon.source_ref.like("bargain:%") | Coupon.source_ref.like("assist:%")
                )
            )
            rewards = sum(1 for row in assists if row.reward_coupon_id is not None)
            assert rewards == 2  # the live campaign rewards with a coupon
            assert helper_coupons == helps + assist_figures["helps"] + rewards
    finally:
        clock.install(previous)
