"""Tracked events (customer behaviour) and carts of the demo brand's customers.

These are *tracked events* (``tracked_event``), not domain events: see DESIGN.md.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from siyu.demo.brand.catalog import DemoSku
from siyu.demo.brand.people import DemoCustomer
from siyu.demo.brand.writer import BulkWriter
from siyu.models.order import CartItem
from siyu.models.tracking import TrackedEvent

_EVENT = TrackedEvent.__table__
_CART = CartItem.__table__
# Browsing sessions without a purchase, per expected purchase: people look more than buy.
BROWSE_PER_PURCHASE = 1.5
MAX_BROWSE_SESSIONS = 12
PAGES = (
    ("首页", "/pages/index/index"),
    ("分类", "/pages/category/index"),
    ("新品上市", "/pages/topic/new"),
    ("会员中心", "/pages/member/index"),
)


class Tracker:
    def __init__(self, rng: random.Random, writer: BulkWriter) -> None:
        self.rng = rng
        self.writer = writer

    def event(
        self,
        customer_id: int,
        kind: str,
        at: datetime,
        touchpoint: str | None,
        properties: dict[str, Any],
        channel_code_id: int | None = None,
    ) -> None:
        self.writer.add(
            _EVENT,
            {
                # Made the way a client makes them: random (here from the seeded generator).
                "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "customer_id": customer_id,
                "type": kind,
                "occurred_at": at,
                "received_at": at,
                "touchpoint": touchpoint,
                "channel_code_id": channel_code_id,
                "context": {},
                "properties": properties,
            },
        )

    def browse(
        self,
        customer_id: int,
        start: datetime,
        touchpoint: str,
        skus: list[DemoSku],
        *,
        channel_code_id: int | None = None,
        carted: list[DemoSku] | None = None,
    ) -> datetime:
        """A session: a page, a few products, maybe add-to-cart; returns when it ended."""
        rng = self.rng
        title, path = rng.choice(PAGES)
        at = start
        self.event(
            customer_id,
            "page_view",
            at,
            touchpoint,
            {"title": title, "path": path},
            channel_code_id,
        )
        for sku in skus:
            at += timedelta(seconds=rng.randint(8, 90))
            self.event(
                customer_id,
                "product_view",
                at,
                touchpoint,
                {"spu_id": sku.product_id, "sku_id": sku.id},
                channel_code_id,
            )
        for sku in carted or []:
            at += timedelta(seconds=rng.randint(5, 40))
            self.event(
                customer_id,
                "add_to_cart",
                at,
                touchpoint,
                {"sku_id": sku.id, "quantity": 1},
                channel_code_id,
            )
        return at


def browse_sessions(rng: random.Random, customer: DemoCustomer, *, now: datetime) -> list[datetime]:
    """Start times of the customer's browsing-only sessions (after the arrival one)."""
    end = min(customer.dropout_at, now)
    days = max(0.0, (end - customer.arrival).total_seconds() / 86400)
    expected = customer.purchase_rate * days * BROWSE_PER_PURCHASE + 0.3
    count = min(MAX_BROWSE_SESSIONS, _poisson(rng, expected))
    starts = (
        customer.arrival + timedelta(seconds=rng.uniform(3600, max(3601.0, days * 86400)))
        for _ in range(count)
    )
    return sorted(start for start in starts if start < now - timedelta(minutes=5))


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the small means used here.
    limit = pow(2.718281828459045, -mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def write_cart(writer: BulkWriter, customer_id: int, skus: list[DemoSku], at: datetime) -> None:
    for sku in {sku.id: sku for sku in skus}.values():
        writer.add(
            _CART,
            {
                "customer_id": customer_id,
                "sku_id": sku.id,
                "quantity": 1,
                "is_selected": True,
                "added_at": at,
                "updated_at": at,
            },
        )
