"""The ``traits`` section of the customer 360 profile (``siyu.customers.profile_sections``).

One primary-key read of ``customer_trait``; values that move with the clock alone
(days since the last order, since the last activity) are derived here at read time,
never stored. A customer not computed yet has an empty section.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.customers import profile_sections
from siyu.models.audience import CustomerTrait

SECTION = "traits"
SHOWN = (
    "rfm_group",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "aipl_stage",
    "ops_stage",
    "ops_stage_since",
    "first_order_at",
    "last_order_at",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "orders_total",
    "spend_30d",
    "spend_90d",
    "spend_365d",
    "spend_total",
    "aov",
    "avg_days_between_orders",
    "favourite_category_id",
    "preferred_store_id",
    "preferred_touchpoint",
    "last_active_at",
    "coupon_order_share",
    "next_order_from",
    "next_order_to",
    "is_subscribed",
    "subscribe_quota",
    "computed_at",
)


def days_since(moment: datetime | None, now: datetime) -> int | None:
    """Whole days from ``moment`` to ``now`` (None when there is no moment)."""
    if moment is None:
        return None
    return (now - moment).days


def traits_section(session: Session, customer_id: int) -> dict[str, Any]:
    row = session.get(CustomerTrait, customer_id)
    if row is None:
        return {}
    now = clock.now()
    values: dict[str, Any] = {name: getattr(row, name) for name in SHOWN}
    values["days_since_last_order"] = days_since(row.last_order_at, now)
    values["days_since_last_active"] = days_since(row.last_active_at, now)
    return values


profile_sections.register(SECTION, traits_section)
