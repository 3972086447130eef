"""Counters that other domains add to the customer 360 profile.

The profile is assembled by the customers domain, but orders, points and coupons
live in their own domains, which the customers domain must not import (DESIGN.md:
domains never import each other in circles). Instead each domain registers a
*section*: a function ``fn(session, customer_id) -> dict`` of plain JSON values,
rendered under ``profile["sections"][name]``. The orders domain, for instance, will
register ``"orders"`` returning ``{"count": 3, "spend_fen": 45900, "last_order_at": …}``
from its own module at import time (``siyu/orders/profile.py``, imported by
``siyu.handlers.load_all``), and the points domain ``"points"`` with the balance.

A section must be cheap (one indexed query): the profile's p99 budget is 30 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.customer import CustomerIdentity, CustomerTag
from siyu.models.tracking import TrackedEvent

SectionFunction = Callable[[Session, int], dict[str, Any]]
RECENT_DAYS = 30

_sections: dict[str, SectionFunction] = {}


def register(name: str, function: SectionFunction) -> SectionFunction:
    """Add a section to every profile; a name may be registered once."""
    if name in _sections:
        raise ValueError(f"a profile section named {name!r} is already registered")
    _sections[name] = function
    return function


def unregister(name: str) -> None:
    """Remove a section (tests that register their own use this to clean up)."""
    _sections.pop(name, None)


def registered() -> list[str]:
    return sorted(_sections)


def collect(session: Session, customer_id: int) -> dict[str, dict[str, Any]]:
    return {name: _sections[name](session, customer_id) for name in sorted(_sections)}


def _customer_counters(session: Session, customer_id: int) -> dict[str, Any]:
    since = clock.now() - timedelta(days=RECENT_DAYS)
    identities = session.scalar(
        select(func.count()).where(CustomerIdentity.customer_id == customer_id)
    )
    tags = session.scalar(select(func.count()).where(CustomerTag.customer_id == customer_id))
    # Bounded by ix_tracked_event_customer_time: a range scan of one customer's events.
    recent_events = session.scalar(
        select(func.count()).where(
            TrackedEvent.customer_id == customer_id, TrackedEvent.occurred_at >= since
        )
    )
    return {
        "identity_count": identities or 0,
        "tag_count": tags or 0,
        "events_last_30_days": recent_events or 0,
    }


register("customer", _customer_counters)
