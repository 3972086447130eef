"""The demo module on a small committed brand: an ended programme with settled (and one
reversed) commissions and a paid withdrawal, a live one with frozen commissions and a
pending withdrawal — all through the services, balances equal to their ledgers."""

from __future__ import annotations

import random
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu import handlers
from siyu.campaigns.referral import counters
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.demo.campaigns import referral
from siyu.demo.offers.context import Context
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.referral import Promoter, PromoterLedger, ReferralWithdrawal
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import command_line_principal
from tests.demo.conftest import small_brand


def test_demo_builds_ended_and_live_programmes(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    handlers.load_all()
    with transaction(session_factory) as session:
        small_brand(session, settings, customers=300)
    now = clock.now()
    frozen = FrozenClock(now)
    previous = clock.install(frozen)
    key = settings.resolved_secret_key()
    try:
        started = time.perf_counter()
        figures = referral.build(
            session_factory,
            Context(
                settings=settings,
                clock=frozen,
                rng=random.Random("7:referral"),
                actor=command_line_principal("demo-setup"),
                now=now,
                start=now,
                customers=300,
                cipher=PiiCipher(key),
                sandbox=SandboxProvider(key),
            ),
        )
        elapsed = time.perf_counter() - started
        assert frozen.now() == now
        assert elapsed < 15
        with transaction(session_factory) as session:
            campaigns = list(
                session.scalars(
                    select(Campaign)
                    .where(Campaign.kind == CampaignKind.REFERRAL.value)
                    .order_by(Campaign.starts_at)
                )
            )
            assert [phases.phase_of(c).value for c in campaigns] == ["ended", "live"]
            ended, live = campaigns
            figures_by_campaign = counters.for_campaigns(session, [ended.id, live.id])
            past, current = figures_by_campaign[ended.id], figures_by_campaign[live.id]
            assert past["attributed_orders"] >= 6
            assert current["attributed_orders"] >= 4
            assert past["frozen_amount"] == 0
            assert past["settled_amount"] > 0
            assert past["reversed_amount"] > 0
            assert current["frozen_amount"] > 0
            assert current["settled_amount"] == 0
            assert past["settled_amount"] == figures["settled_amount"]
            statuses = sorted(session.scalars(select(ReferralWithdrawal.status)))
            assert statuses == ["paid", "requested"]
            for promoter in session.scalars(select(Promoter)):
                sums = session.execute(
                    select(
                        func.coalesce(func.sum(PromoterLedger.frozen_delta), 0),
                        func.coalesce(func.sum(PromoterLedger.withdrawable_delta), 0),
                        func.coalesce(func.sum(PromoterLedger.withdrawing_delta), 0),
                        func.coalesce(func.sum(PromoterLedger.withdrawn_delta), 0),
                    ).where(PromoterLedger.promoter_id == promoter.id)
                ).one()
                assert tuple(sums) == (
                    promoter.frozen_amount,
                    promoter.withdrawable_amount,
                    promoter.withdrawing_amount,
                    promoter.withdrawn_amount,
                )
        assert figures["campaigns"] == 2
        assert figures["promoters"] >= 3
        assert (figures["withdrawals_paid"], figures["withdrawals_pending"]) == (1, 1)
    finally:
        clock.install(previous)
