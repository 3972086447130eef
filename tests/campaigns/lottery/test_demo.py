"""The demo module: an ended lottery with draws and a live member-day lottery, built
through the services, the same on every run (seeded draws)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.lottery import reads
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.demo.campaigns import lottery as demo
from siyu.demo.offers.context import Context
from siyu.models.campaign import Campaign
from siyu.models.lottery import LotteryDraw
from siyu.models.order import Order
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import command_line_principal
from tests.demo.conftest import small_brand


def _context(settings: Settings, frozen: FrozenClock, now: datetime) -> Context:
    key = settings.resolved_secret_key()
    return Context(
        settings=settings,
        clock=frozen,
        rng=random.Random("7:lottery"),
        actor=command_line_principal("demo-setup"),
        now=now,
        start=now,
        customers=300,
        cipher=PiiCipher(key),
        sandbox=SandboxProvider(key),
    )


def test_demo_builds_an_ended_and_a_live_lottery(
    session_factory: sessionmaker[Session], test_settings: Settings
) -> None:
    with transaction(session_factory) as session:
        small_brand(session, test_settings, customers=300)
    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    frozen = FrozenClock(now)
    previous = clock.install(frozen)
    try:
        figures = demo.build(session_factory, _context(test_settings, frozen, now))
        assert frozen.now() == now
        with transaction(session_factory) as session:
            campaigns = session.scalars(select(Campaign).order_by(Campaign.starts_at)).all()
            assert [phases.phase_of(row).value for row in campaigns] == ["ended", "live"]
            draws = session.scalar(select(func.count()).select_from(LotteryDraw))
            assert figures["lotteries"] == 2
            assert figures["draws"] == draws
            assert draws > 100
            counted = reads.counters(session, [row.id for row in campaigns])
            assert sum(row["wins"] for row in counted.values()) == figures["wins"]
            claimed = session.scalar(
                select(func.count())
                .select_from(LotteryDraw)
                .where(LotteryDraw.order_id.is_not(None))
            )
            assert claimed == figures["goods_claimed"]
            free_orders = session.scalars(
                select(Order.total_amount).where(
                    Order.campaign_id.in_([row.id for row in campaigns])
                )
            ).all()
            assert free_orders == [0] * claimed
    finally:
        clock.install(previous)
