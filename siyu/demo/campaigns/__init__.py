"""The demo brand's campaigns: every mechanic, one ended and one live, with real orders.

Runs after the offers phase (tiers, coupons and the points mall exist). Each
mechanic's module (``siyu.demo.campaigns.<mechanic>``) builds its campaigns through
its own services with the clock frozen: it moves the clock into the past for the
ended campaign, pays orders through the sandbox provider, and puts the clock back
for the live one. The phase runs only while no campaign exists, so a second
``siyu demo`` adds nothing. See docs/demo.md.
"""

from __future__ import annotations

import importlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu import handlers as registry
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory
from siyu.core.settings import Settings
from siyu.demo.offers.context import Context
from siyu.models.campaign import Campaign
from siyu.models.customer import Customer
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import command_line_principal

DEFAULT_SEED = 42
# In this order: referral first, so later campaigns' orders can be attributed to
# promoters; the flash sale last, so its live session is the freshest.
MECHANICS: tuple[str, ...] = (
    "referral",
    "group_buy",
    "bargain",
    "assist",
    "lottery",
    "flash_sale",
)

Build = Callable[[sessionmaker[Session], Context], dict[str, int]]
Progress = Callable[[str, int, int], None]
PHASE = "campaigns"
LEAD_TIME = timedelta(hours=1)


@dataclass
class CampaignsSummary:
    campaigns: int
    seconds: float
    # "<mechanic>.<figure>" → count, from each module's build.
    counts: dict[str, int] = field(default_factory=dict)


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


def _builder(mechanic: str) -> Build:
    module = importlib.import_module(f"siyu.demo.campaigns.{mechanic}")
    build: Build = module.build
    return build


def run_campaigns(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    progress: Progress = _quiet,
) -> CampaignsSummary | None:
    """Build every mechanic's demo campaigns; None when campaigns already exist."""
    registry.load_all()
    started = time.perf_counter()
    with factory() as session:
        if session.scalar(select(func.count()).select_from(Campaign)):
            return None
        customers = int(session.scalar(select(func.count()).select_from(Customer)) or 0)
    # The live campaigns' activity (orders paid minutes apart) is played out from an hour
    # ago, so that when the demo opens it all lies in the past and its events are due.
    now = clock.now() - LEAD_TIME
    frozen = FrozenClock(now)
    previous = clock.install(frozen)
    key = settings.resolved_secret_key()
    counts: Counter[str] = Counter()
    try:
        for done, mechanic in enumerate(MECHANICS):
            progress(PHASE, done, len(MECHANICS))
            frozen.set(now)
            ctx = Context(
                settings=settings,
                clock=frozen,
                rng=random.Random(f"{seed}:{mechanic}"),
                actor=command_line_principal("demo-setup"),
                now=now,
                start=now,
                customers=customers,
                cipher=PiiCipher(key),
                sandbox=SandboxProvider(key),
            )
            figures = _builder(mechanic)(factory, ctx)
            counts.update({f"{mechanic}.{name}": value for name, value in figures.items()})
    finally:
        clock.install(previous)
    progress(PHASE, len(MECHANICS), len(MECHANICS))
    with factory() as session:
        total = int(session.scalar(select(func.count()).select_from(Campaign)) or 0)
    return CampaignsSummary(total, time.perf_counter() - started, dict(counts))


def build_demo_campaigns(
    settings: Settings, progress: Progress = _quiet, *, seed: int = DEFAULT_SEED
) -> CampaignsSummary | None:
    engine = make_engine(settings.database_url)
    try:
        return run_campaigns(make_session_factory(engine), settings, seed=seed, progress=progress)
    finally:
        engine.dispose()
