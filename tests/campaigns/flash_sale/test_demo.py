"""The demo module: an ended, sold-out session with paid orders and a live session,
built through the services, stock balanced on both."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import audit, service
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.demo.campaigns import flash_sale as demo
from siyu.demo.offers.context import Context
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.flash_sale import FlashSaleReservation, ReservationStatus
from siyu.models.order import Order, OrderStatus
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import command_line_principal
from tests.demo.conftest import small_brand


def _context(settings: Settings, frozen: FrozenClock, now: datetime) -> Context:
    key = settings.resolved_secret_key()
    return Context(
        settings=settings,
        clock=frozen,
        rng=random.Random("7:flash_sale"),
        actor=command_line_principal("demo-setup"),
        now=now,
        start=now,
        customers=300,
        cipher=PiiCipher(key),
        sandbox=SandboxProvider(key),
    )


def test_demo_builds_an_ended_sold_out_session_and_a_live_one(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(session_factory) as session:
        small_brand(session, settings, customers=300)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    frozen = FrozenClock(now)
    previous = clock.install(frozen)
    try:
        figures = demo.build(session_factory, _context(settings, frozen, now))
        assert frozen.now() == now
        with transaction(session_factory) as session:
            campaigns = session.scalars(
                select(Campaign)
                .where(Campaign.kind == CampaignKind.FLASH_SALE.value)
                .order_by(Campaign.starts_at)
            ).all()
            assert [phases.phase_of(row).value for row in campaigns] == ["ended", "live"]
            assert figures["campaigns"] == 2
            counted = service.counters(session, [row.id for row in campaigns])
            ended, live = (counted[row.id] for row in campaigns)
            assert (ended["stock_left"], ended["reserved"], ended["sold"]) == (0, 0, 30)
            assert live["sold"] > 0
            assert live["reserved"] + live["sold"] == live["orders"]
            assert figures["paid"] == ended["sold"] + live["sold"]
            for row in service.sessions_of(session, [campaign.id for campaign in campaigns]):
                assert audit.check(session, row, None).balanced
            paid_orders = session.scalar(
                select(func.count())
                .select_from(Order)
                .join(FlashSaleReservation, FlashSaleReservation.order_id == Order.id)
                .where(
                    FlashSaleReservation.status == ReservationStatus.PAID,
                    Order.status == OrderStatus.PAID,
                )
            )
            assert paid_orders == figures["paid"]
    finally:
        clock.install(previous)
