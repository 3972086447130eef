"""The demo brand's analytics phase (siyu.demo.analytics) on a small committed brand:
campaign economics, the month's revenue goal, CLV, and headline figures that come
from the data — each checked against a plain computation over the OLTP rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.clock import FrozenClock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.demo.analytics import (
    GOAL_GROWTH,
    AnalyticsSummary,
    month_of,
    run_analytics,
    summary_lines,
)
from siyu.demo.analytics import campaigns as economics
from siyu.demo.campaigns import run_campaigns
from siyu.demo.offers import run_offers
from siyu.models.analytics import CustomerValue, RevenueGoal
from siyu.models.campaign import Campaign
from siyu.models.channel_code import ChannelCode
from siyu.models.order import Order
from tests.demo.conftest import small_brand

CUSTOMERS = 200
DAYS = 90
TIMEZONE = ZoneInfo("Asia/Shanghai")


def _settings(directory: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{directory / 'siyu.db'}",
        data_dir=directory / "data",
        secret_key="test-secret-key-" + "x" * 32,
        run_worker=False,
    )


def _build(factory: sessionmaker[Session], settings: Settings) -> AnalyticsSummary:
    with transaction(factory) as session:
        small_brand(session, settings, customers=CUSTOMERS, days=DAYS, seed=11)
    assert run_offers(factory, settings, seed=5) is not None
    assert run_campaigns(factory, settings, seed=5) is not None
    summary = run_analytics(factory, settings, seed=9)
    assert summary is not None
    return summary


def _paid(session: Session, first: date, last: date) -> list[tuple[int, int]]:
    """(customer, paid − refunded) of orders paid on local days first..last."""
    rows = session.execute(
        select(Order.customer_id, Order.paid_at, Order.paid_amount, Order.refunded_amount).where(
            Order.paid_at.is_not(None)
        )
    ).all()
    return [
        (customer, paid - refunded)
        for customer, paid_at, paid, refunded in rows
        if first <= paid_at.astimezone(TIMEZONE).date() <= last
    ]


@pytest.fixture
def demo_brand(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Settings]]:
    """One SQLite brand: the phases before analytics take a minute, so one engine only
    (the analytics phase has no engine-specific SQL; the services it calls are tested
    on both)."""
    settings = _settings(tmp_path)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        yield make_session_factory(engine), settings
    finally:
        engine.dispose()


def test_demo_analytics_phase_reads_the_brand(
    demo_brand: tuple[sessionmaker[Session], Settings], frozen_clock: FrozenClock
) -> None:
    session_factory, test_settings = demo_brand
    summary = _build(session_factory, test_settings)
    today = frozen_clock.now().astimezone(TIMEZONE).date()
    figures = summary.headline
    assert figures.period.end == today - timedelta(days=1)
    assert figures.period.days == 30

    with transaction(session_factory) as session:
        # GMV, orders and buyers: a plain sum over the OLTP orders in the local window.
        current = _paid(session, figures.period.start, figures.period.end)
        assert figures.gmv == sum(gmv for _customer, gmv in current) > 0
        assert figures.orders == len(current)
        assert figures.buyers == len({customer for customer, _gmv in current})
        before = figures.period.previous()
        base_gmv = sum(gmv for _customer, gmv in _paid(session, before.start, before.end))
        assert figures.gmv_change == figures.gmv - base_gmv
        assert figures.driver in {
            "visitors",
            "conversion_rate",
            "aov",
            "purchase_frequency",
            "customers",
        }

        # Campaign economics: every campaign costed, every third (by id) held out.
        campaigns = list(session.scalars(select(Campaign).order_by(Campaign.id)))
        assert campaigns
        assert summary.costed_campaigns == len(campaigns)
        assert summary.fixed_costs == sum(campaign.fixed_cost_amount for campaign in campaigns)
        assert all(campaign.fixed_cost_amount > 0 for campaign in campaigns)
        held = [campaign.name for campaign in campaigns if campaign.holdout_percent]
        assert held == [campaign.name for campaign in campaigns[:: economics.HOLDOUT_EVERY]]
        assert summary.holdout_campaigns == held

        # The month's goal: the last 30 days' pace over the month, plus 10 %.
        goal = session.scalars(select(RevenueGoal)).one()
        start, end = month_of(today)
        assert (goal.period_start, goal.period_end) == (start, end)
        days = (end - start).days + 1
        expected = round(figures.gmv / 30 * days * GOAL_GROWTH / 10_000) * 10_000
        assert goal.target_amount == summary.goal_target == max(10_000, expected)
        assert goal.plan

        # CLV scored the buyers through the service.
        stored = session.scalar(select(func.count()).select_from(CustomerValue))
        assert summary.clv_customers == stored > 0

        # Top channel: a real channel code, credited part of the GMV.
        names = set(session.scalars(select(ChannelCode.name)))
        assert figures.top_channel in names
        assert 0 < figures.top_channel_gmv <= figures.gmv

        # The diagnosis grid has real gaps: the example cell has no campaign acting there.
        assert 0 < figures.missing_cells < figures.cells
        assert figures.missing_example is not None
        touchpoint, stage, _audience = figures.missing_example
        low = datetime.combine(figures.period.start, datetime.min.time(), TIMEZONE)
        high = datetime.combine(
            figures.period.end + timedelta(days=1), datetime.min.time(), TIMEZONE
        )
        acting = {
            (point, campaign.lifecycle_stage)
            for campaign in campaigns
            for point in campaign.touchpoints
            if campaign.starts_at < high.astimezone(UTC) and campaign.ends_at >= low
        }
        assert (touchpoint, stage) not in acting

    lines = summary_lines(summary)
    assert any("缺失" in line for line in lines)
    assert any(f"¥{figures.gmv / 100:,.0f}" in line for line in lines)
    # A second run adds nothing.
    assert run_analytics(session_factory, test_settings, seed=9) is None
