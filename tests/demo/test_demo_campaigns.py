"""The demo brand's campaigns (siyu.demo.campaigns), on both engines: every mechanic has
an ended and a live campaign, built through the real services, with real orders."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.registry import counters, phases
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.demo.campaigns import MECHANICS, run_campaigns
from siyu.demo.offers import run_offers
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.order import Order, OrderStatus
from siyu.models.referral import Commission
from tests.demo.conftest import small_brand

CUSTOMERS = 400


def test_every_mechanic_has_an_ended_and_a_live_campaign_with_orders(
    session_factory: sessionmaker[Session], test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    with transaction(session_factory) as session:
        small_brand(session, test_settings, customers=CUSTOMERS, days=90, seed=11)
    assert run_offers(session_factory, test_settings, seed=5) is not None
    before = frozen_clock.now()
    summary = run_campaigns(session_factory, test_settings)
    assert summary is not None
    # The phase ran on its own clock and put the test's back.
    assert clock.now() == before
    assert {key.split(".")[0] for key in summary.counts} == set(MECHANICS)

    with transaction(session_factory) as session:
        campaigns = list(session.scalars(select(Campaign)))
        assert summary.campaigns == len(campaigns) == 2 * len(CampaignKind)
        by_kind: dict[str, Counter[str]] = {}
        for campaign in campaigns:
            by_kind.setdefault(campaign.kind, Counter())[phases.phase_of(campaign).value] += 1
        for kind in CampaignKind:
            seen = by_kind[kind.value]
            assert seen["live"] >= 1, (kind, seen)
            assert seen["ended"] + seen["closing"] >= 1, (kind, seen)

        paid = dict(
            session.execute(
                select(Campaign.kind, func.count(Order.id))
                .join(Order, Order.campaign_id == Campaign.id)
                .where(Order.paid_at.is_not(None))
                .group_by(Campaign.kind)
            ).all()
        )
        for kind in (CampaignKind.FLASH_SALE, CampaignKind.GROUP_BUY, CampaignKind.BARGAIN):
            assert paid.get(kind.value, 0) > 0, (kind, paid)
        # Failed groups were refunded through the provider.
        refunded = session.scalar(
            select(func.count(Order.id))
            .join(Campaign, Campaign.id == Order.campaign_id)
            .where(
                Campaign.kind == CampaignKind.GROUP_BUY,
                Order.status.in_([OrderStatus.REFUNDED, OrderStatus.CANCELLED]),
                Order.refunded_amount > 0,
            )
        )
        assert (refunded or 0) > 0
        assert session.scalar(select(func.count()).select_from(Commission)) > 0
        # Every mechanic reports live counters for its campaigns.
        figures = counters.for_campaigns(session, campaigns)
        assert all(figures.get(campaign.id) for campaign in campaigns)

    # A second run adds nothing.
    frozen_clock.advance(timedelta(minutes=1))
    assert run_campaigns(session_factory, test_settings) is None
