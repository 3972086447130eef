"""The demo brand's member program and offers, built through the real services.

After the brand's bulk generation (``siyu.demo.brand``), this phase creates the tier
ladder, the program rules and the coupon templates, then walks the brand's history
in time order with a frozen clock (``timeline``): the order events go through the
members handlers (growth, tiers, frozen points, thaw, refunds) while, between them,
customers claim coupons, guides send and write off store coupons, shoppers check out
with a coupon and points, and members exchange points in the points mall. The
previous clock is put back at the end. See docs/demo.md.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import make_engine, make_session_factory
from siyu.core.settings import Settings
from siyu.demo.offers.timeline import DEFAULT_SEED, OffersSummary, run

Progress = Callable[[str, int, int], None]

__all__ = ["OffersSummary", "build_demo_offers", "run_offers"]


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


def run_offers(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    progress: Progress = _quiet,
) -> OffersSummary | None:
    """Build the offers on the brand behind ``factory``; None when tiers already exist."""
    return run(factory, settings, seed=seed, progress=progress)


def build_demo_offers(
    settings: Settings, progress: Progress = _quiet, *, seed: int = DEFAULT_SEED
) -> OffersSummary | None:
    engine = make_engine(settings.database_url)
    try:
        return run_offers(make_session_factory(engine), settings, seed=seed, progress=progress)
    finally:
        engine.dispose()
