"""Helpers for the demo-brand tests: generate a small brand inside the test's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.settings import Settings
from siyu.demo.brand.generator import DemoSummary, generate

SMALL_CUSTOMERS = 300
SMALL_DAYS = 90


def small_brand(
    session: Session,
    settings: Settings,
    *,
    customers: int = SMALL_CUSTOMERS,
    seed: int = 7,
    days: int = SMALL_DAYS,
) -> DemoSummary:
    return generate(session, settings, customers=customers, days=days, seed=seed)
