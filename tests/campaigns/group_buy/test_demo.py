"""The demo module on a small committed brand: an ended campaign with filled and
failed (refunded) groups and a live one with groups forming, all through the services."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu import handlers
from siyu.campaigns.group_buy import reads
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.demo.campaigns import group_buy
from siyu.demo.offers.context import Context
from siyu.models.campaign import Campaign
from siyu.models.group_buy import GroupBuyGroup, GroupBuyMember
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import Refund
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import command_line_principal
from tests.demo.conftest import small_brand


def test_demo_builds_ended_and_live_group_buys(
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
        figures = group_buy.build(
            session_factory,
            Context(
                settings=settings,
                clock=frozen,
                rng=random.Random("7:group_buy"),
                actor=command_line_principal("demo-setup"),
                now=now,
                start=now,
                customers=300,
                cipher=PiiCipher(key),
                sandbox=SandboxProvider(key),
            ),
        )
        assert frozen.now() == now
        with transaction(session_factory) as session:
            campaigns = list(session.scalars(select(Campaign).order_by(Campaign.starts_at)))
            assert [phases.phase_of(c).value for c in campaigns] == ["ended", "live"]
            ended, live = campaigns
            statuses = Counter(
                (row.campaign_id, row.status) for row in session.scalars(select(GroupBuyGroup))
            )
            assert statuses == Counter(
                {
                    (ended.id, "filled"): 3,
                    (ended.id, "failed"): 3,
                    (live.id, "filled"): 1,
                    (live.id, "open"): 3,
                }
            )
            refunds = list(
                session.scalars(select(Refund).where(Refund.requested_by == "system:group_buy"))
            )
            assert len(refunds) == 5  # 2 + 1 + 2 paid members of the failed groups
            assert {refund.status for refund in refunds} == {"succeeded"}
            refunded = session.scalars(
                select(Order.status).where(Order.id.in_([r.order_id for r in refunds]))
            )
            assert set(refunded) == {OrderStatus.REFUNDED.value}
            figures_ended = reads.counters(session, [ended.id])[ended.id]
            assert (figures_ended["groups_failed"], figures_ended["group_refunds"]) == (3, 5)
            members = session.scalar(select(func.count()).select_from(GroupBuyMember))
        assert figures == {
            "campaigns": 2,
            "groups": 10,
            "members": members,
            "groups_failed": 3,
            "refunds": 5,
        }
    finally:
        clock.install(previous)
