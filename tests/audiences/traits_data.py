"""Random and exact OLTP datasets for the traits tests (the plain-Python reference
they are compared with is ``traits_reference``).

Rows go in through the models; the real exporter (``siyu.warehouse.export.sync``)
copies them to Parquet, so the tests cover the path production takes.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.audiences import traits
from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.audience import CustomerTrait
from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.customer import Customer
from siyu.models.order import Order, OrderLine
from siyu.models.tracking import TrackedEvent
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse

EVENT_TYPES = ("product_view", "add_to_cart", "subscribe", "unsubscribe", "page_view", "scan")
TOUCHPOINTS = ("mp", "oa", "h5", None)
CATEGORIES = (10, 11, 12, None)
STORES = (1, 2, 3, None)


@dataclass
class Dataset:
    customers: list[int] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    coupon_order_ids: set[int] = field(default_factory=set)


def _moment(rng: random.Random, now: datetime, max_days: int) -> datetime:
    # Whole hours in a limited range, so ties in times (and in RFM values) happen.
    return now - timedelta(hours=rng.randrange(0, max_days * 24, 12))


def add_orders(
    session: Session,
    rng: random.Random,
    data: Dataset,
    customer_id: int,
    *,
    now: datetime,
    count: int,
    max_days: int = 500,
) -> None:
    template = session.query(CouponTemplate).first()
    for _ in range(count):
        at = _moment(rng, now, max_days)
        total = rng.choice((5000, 9900, 12000, 30000))
        paid = rng.random() > 0.15
        refunded = 0
        if paid and rng.random() < 0.25:
            refunded = rng.choice((total, total // 2))
        order = Order(
            public_id=f"o_{customer_id}_{len(data.orders)}_{rng.random()}",
            customer_id=customer_id,
            status="paid" if paid else "pending_payment",
            items_amount=total,
            total_amount=total,
            paid_amount=total if paid else 0,
            refunded_amount=refunded,
            item_count=1,
            store_id=rng.choice(STORES),
            touchpoint=rng.choice(TOUCHPOINTS),
            created_at=at - timedelta(minutes=5),
            updated_at=at,
            paid_at=at if paid else None,
        )
        session.add(order)
        session.flush()
        row = {
            "id": order.id,
            "customer_id": customer_id,
            "paid_at": order.paid_at,
            "created_at": order.created_at,
            "paid_amount": order.paid_amount,
            "refunded_amount": refunded,
            "store_id": order.store_id,
            "touchpoint": order.touchpoint,
        }
        data.orders.append(row)
        for line_no in range(1, rng.randint(1, 2) + 1):
            quantity = rng.randint(1, 3)
            refunded_quantity = rng.randint(0, quantity) if refunded else 0
            line = {
                "order_id": order.id,
                "category_id": rng.choice(CATEGORIES),
                "quantity": quantity,
                "refunded_quantity": refunded_quantity,
            }
            data.lines.append(line)
            session.add(
                OrderLine(
                    order_id=order.id,
                    line_no=line_no,
                    category_id=line["category_id"],
                    product_name="口红",
                    quantity=quantity,
                    unit_list_price=100,
                    unit_price=100,
                    base_amount=100 * quantity,
                    payable_amount=100 * quantity,
                    refunded_quantity=refunded_quantity,
                    refunded_amount=0,
                )
            )
        if paid and template is not None and rng.random() < 0.35:
            session.add(
                Coupon(
                    code=f"C{order.id}",
                    template_id=template.id,
                    customer_id=customer_id,
                    status="used",
                    source="claim",
                    valid_from=at - timedelta(days=10),
                    valid_until=at + timedelta(days=10),
                    claimed_at=at - timedelta(days=1),
                    used_at=at,
                    order_id=order.id,
                )
            )
            data.coupon_order_ids.add(order.id)
    session.flush()


def add_events(
    session: Session,
    rng: random.Random,
    data: Dataset,
    customer_id: int,
    *,
    now: datetime,
    count: int,
) -> None:
    for _ in range(count):
        at = _moment(rng, now, 60)
        event = TrackedEvent(
            event_id=f"ev-{customer_id}-{len(data.events)}-{rng.random()}",
            customer_id=customer_id,
            type=rng.choice(EVENT_TYPES),
            occurred_at=at,
            received_at=at,
            touchpoint=rng.choice(TOUCHPOINTS),
            properties={},
            context={},
        )
        session.add(event)
        session.flush()
        data.events.append(
            {
                "id": event.id,
                "customer_id": customer_id,
                "type": event.type,
                "occurred_at": at,
                "touchpoint": event.touchpoint,
            }
        )


def build(session: Session, rng: random.Random, *, now: datetime, customers: int) -> Dataset:
    data = Dataset()
    session.add(CouponTemplate(public_id=f"ct_{rng.random()}", name="券", kind="threshold"))
    session.flush()
    for _ in range(customers):
        customer = Customer(consent={}, created_at=now - timedelta(days=600), updated_at=now)
        session.add(customer)
        session.flush()
        data.customers.append(customer.id)
        add_orders(session, rng, data, customer.id, now=now, count=rng.choice((0, 0, 1, 2, 3, 5)))
        add_events(session, rng, data, customer.id, now=now, count=rng.randint(0, 6))
    return data


def sync_and_recompute(
    engine: Engine,
    factory: sessionmaker[Session],
    wh: Warehouse,
    *,
    now: datetime,
    customer_ids: list[int] | None = None,
) -> traits.TraitsResult:
    import pyarrow as pa

    export.sync(engine, wh, now=now)
    with transaction(factory) as session:
        return traits.recompute(
            session,
            wh,
            now=now,
            customer_ids=None if customer_ids is None else pa.array(customer_ids, pa.int64()),
        )


def paid_order(
    session: Session, customer_id: int, *, at: datetime, amount: int = 10000, store_id: int = 1
) -> Order:
    """One paid order of one line (category 10), exactly as given."""
    order = Order(
        public_id=f"o_{uuid.uuid4().hex[:30]}",
        customer_id=customer_id,
        status="paid",
        items_amount=amount,
        total_amount=amount,
        paid_amount=amount,
        item_count=1,
        store_id=store_id,
        touchpoint="mp",
        created_at=at,
        updated_at=at,
        paid_at=at,
    )
    session.add(order)
    session.flush()
    session.add(
        OrderLine(
            order_id=order.id,
            line_no=1,
            category_id=10,
            product_name="口红",
            quantity=1,
            unit_list_price=amount,
            unit_price=amount,
            base_amount=amount,
            payable_amount=amount,
        )
    )
    session.flush()
    return order


def tracked(session: Session, customer_id: int, *, at: datetime, type: str) -> None:
    session.add(
        TrackedEvent(
            event_id=f"ev-{customer_id}-{type}-{random.random()}",
            customer_id=customer_id,
            type=type,
            occurred_at=at,
            received_at=at,
            touchpoint="mp",
            properties={},
            context={},
        )
    )
    session.flush()


def new_customers(session: Session, count: int, *, at: datetime) -> list[int]:
    rows = [Customer(consent={}, created_at=at, updated_at=at) for _ in range(count)]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def make_trait(customer_id: int, **values: object) -> CustomerTrait:
    """A traits row as the computation would store it, computed now."""
    return CustomerTrait(customer_id=customer_id, computed_at=clock.now(), **values)
