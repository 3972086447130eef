"""Generated OLTP data and a plain-Python reference for the metrics core and the GMV
driver tree. The reference never runs SQL: it walks the rows the generator wrote, so
a test compares two independent computations."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.models.catalog import Category
from siyu.models.customer import Customer
from siyu.models.location import Location
from siyu.models.member import Membership, MemberTier
from siyu.models.order import Order, OrderLine
from siyu.models.tracking import TrackedEvent

TOUCHPOINTS = ("mp", "oa", "wecom", None)
OFFSET = timedelta(hours=8)  # Asia/Shanghai, no daylight saving


@dataclass
class Dataset:
    stores: list[int] = field(default_factory=list)
    categories: list[int] = field(default_factory=list)
    tier_id: int = 0
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def local_day(moment: datetime) -> date:
    return (moment + OFFSET).date()


def _at(rng: random.Random, now: datetime, days: int) -> datetime:
    return now - timedelta(minutes=rng.randrange(30, days * 24 * 60, 37))


def _add_order(
    session: Session, rng: random.Random, data: Dataset, customer: dict[str, Any], at: datetime
) -> None:
    lines = []
    for _ in range(rng.randint(1, 3)):
        quantity = rng.randint(1, 3)
        price = rng.choice((990, 2500, 4800))
        refunded = quantity * price if rng.random() < 0.15 else 0
        lines.append(
            {
                "category_id": rng.choice([*data.categories, None]),
                "quantity": quantity,
                "payable": quantity * price,
                "refunded": refunded,
            }
        )
    shipping = rng.choice((0, 0, 800))
    items = sum(line["payable"] for line in lines)
    refunded = sum(line["refunded"] for line in lines)
    order = Order(
        public_id=f"o_{uuid.uuid4().hex[:30]}",
        customer_id=customer["id"],
        status="paid",
        items_amount=items,
        shipping_amount=shipping,
        total_amount=items + shipping,
        paid_amount=items + shipping,
        refunded_amount=refunded,
        item_count=sum(line["quantity"] for line in lines),
        store_id=rng.choice([*data.stores, None]),
        touchpoint=rng.choice(TOUCHPOINTS),
        created_at=at - timedelta(minutes=4),
        updated_at=at,
        paid_at=at,
    )
    session.add(order)
    session.flush()
    for number, line in enumerate(lines, start=1):
        session.add(
            OrderLine(
                order_id=order.id,
                line_no=number,
                category_id=line["category_id"],
                product_name="面霜",
                quantity=line["quantity"],
                unit_list_price=line["payable"] // line["quantity"],
                unit_price=line["payable"] // line["quantity"],
                base_amount=line["payable"],
                payable_amount=line["payable"],
                refunded_quantity=line["quantity"] if line["refunded"] else 0,
                refunded_amount=line["refunded"],
            )
        )
    data.orders.append(
        {
            "id": order.id,
            "customer_id": customer["id"],
            "paid_at": at.replace(tzinfo=None),
            "paid_amount": items + shipping,
            "refunded_amount": refunded,
            "units": order.item_count,
            "store_id": order.store_id,
            "touchpoint": order.touchpoint,
            "lines": lines,
        }
    )


def build(session: Session, rng: random.Random, *, now: datetime, customers: int) -> Dataset:
    """Customers with orders over the last 70 days (some also 200 days ago, so
    returning customers exist), refunds, members joining at random times, events."""
    data = Dataset()
    for number in (1, 2):
        store = Location(code=f"S{number}-{uuid.uuid4().hex[:6]}", name=f"门店{number}")
        category = Category(name=f"品类{number}")
        session.add_all([store, category])
        session.flush()
        data.stores.append(store.id)
        data.categories.append(category.id)
    tier = MemberTier(code=f"gold-{uuid.uuid4().hex[:6]}", name="金卡", rank=1, growth_threshold=0)
    session.add(tier)
    session.flush()
    data.tier_id = tier.id
    for _ in range(customers):
        store_id = rng.choice([*data.stores, None])
        row = Customer(consent={}, created_at=now - timedelta(days=300), updated_at=now)
        row.store_id = store_id
        session.add(row)
        session.flush()
        customer: dict[str, Any] = {"id": row.id, "store_id": store_id, "joined_at": None}
        data.customers[row.id] = customer
        if rng.random() < 0.4:
            joined = _at(rng, now, 80)
            session.add(
                Membership(customer_id=row.id, tier_id=tier.id, joined_at=joined, growth_value=0)
            )
            customer["joined_at"] = joined.replace(tzinfo=None)
        if rng.random() < 0.3:
            _add_order(session, rng, data, customer, now - timedelta(days=200))
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
            _add_order(session, rng, data, customer, _at(rng, now, 70))
        for _ in range(rng.randint(0, 5)):
            at = _at(rng, now, 70)
            touchpoint = rng.choice(TOUCHPOINTS)
            session.add(
                TrackedEvent(
                    event_id=f"ev-{uuid.uuid4().hex}",
                    customer_id=row.id,
                    type="page_view",
                    occurred_at=at,
                    received_at=at,
                    touchpoint=touchpoint,
                    properties={},
                    context={},
                )
            )
            data.events.append(
                {"customer_id": row.id, "at": at.replace(tzinfo=None), "touchpoint": touchpoint}
            )
    session.flush()
    return data


# Reference ---------------------------------------------------------------------------

Slicer = Callable[[dict[str, Any]], list[tuple[Any, dict[str, int]]]]


def _first_paid(data: Dataset) -> dict[int, datetime]:
    firsts: dict[int, datetime] = {}
    for order in data.orders:
        seen = firsts.get(order["customer_id"])
        if seen is None or order["paid_at"] < seen:
            firsts[order["customer_id"]] = order["paid_at"]
    return firsts


def _whole(order: dict[str, Any]) -> dict[str, int]:
    return {
        "gmv": order["paid_amount"] - order["refunded_amount"],
        "paid": order["paid_amount"],
        "refunded": order["refunded_amount"],
        "units": order["units"],
    }


def order_slicer(key: Callable[[dict[str, Any]], Any]) -> Slicer:
    return lambda order: [(key(order), _whole(order))]


def category_slicer(order: dict[str, Any]) -> list[tuple[Any, dict[str, int]]]:
    per_category: dict[Any, dict[str, int]] = {}
    for line in order["lines"]:
        value = None if line["category_id"] is None else str(line["category_id"])
        amounts = per_category.setdefault(value, {"gmv": 0, "paid": 0, "refunded": 0, "units": 0})
        amounts["gmv"] += line["payable"] - line["refunded"]
        amounts["paid"] += line["payable"]
        amounts["refunded"] += line["refunded"]
        amounts["units"] += line["quantity"]
    return list(per_category.items())


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def metrics(
    data: Dataset,
    start: date,
    end: date,
    *,
    slicer: Slicer | None = None,
    event_key: Callable[[dict[str, Any]], Any] | None = None,
    bucket: Callable[[date], date] | None = None,
    store_id: int | None = None,
) -> dict[tuple[Any, Any], dict[str, Any]]:
    """Every metric per (bucket, slice value), walking orders and events in Python."""
    firsts = _first_paid(data)
    period_start = datetime.combine(start, datetime.min.time()) - OFFSET
    period_end = datetime.combine(end + timedelta(days=1), datetime.min.time()) - OFFSET

    def is_new(customer_id: int) -> bool:
        first = firsts.get(customer_id)
        return first is None or period_start <= first < period_end

    groups: dict[tuple[Any, Any], dict[str, Any]] = {}

    def group(key: tuple[Any, Any]) -> dict[str, Any]:
        return groups.setdefault(key, {"orders": [], "visitors": set()})

    for order in data.orders:
        day = local_day(order["paid_at"])
        if not start <= day <= end or (store_id is not None and order["store_id"] != store_id):
            continue
        parts = slicer(order) if slicer else [(None, _whole(order))]
        for value, amounts in parts:
            key = (bucket(day) if bucket else None, value)
            group(key)["orders"].append((order, amounts))
            group(key)["visitors"].add(order["customer_id"])
    for event in data.events:
        day = local_day(event["at"])
        customer = data.customers[event["customer_id"]]
        if not start <= day <= end or (store_id is not None and customer["store_id"] != store_id):
            continue
        value = event_key(event) if event_key else None
        group((bucket(day) if bucket else None, value))["visitors"].add(event["customer_id"])

    result = {}
    for key, entries in groups.items():
        per_customer: dict[int, list[tuple[dict[str, Any], dict[str, int]]]] = {}
        for order, amounts in entries["orders"]:
            per_customer.setdefault(order["customer_id"], []).append((order, amounts))
        gmv = sum(amounts["gmv"] for _, amounts in entries["orders"])
        paid = sum(amounts["paid"] for _, amounts in entries["orders"])
        refunded = sum(amounts["refunded"] for _, amounts in entries["orders"])
        orders = len(entries["orders"])
        units = sum(amounts["units"] for _, amounts in entries["orders"])
        buyers = len(per_customer)
        new = [c for c in per_customer if is_new(c)]
        returning = [c for c in per_customer if not is_new(c)]
        member_gmv = 0
        for order, amounts in entries["orders"]:
            joined = data.customers[order["customer_id"]]["joined_at"]
            if joined is not None and joined <= order["paid_at"]:
                member_gmv += amounts["gmv"]
        refunded_orders = sum(1 for _, amounts in entries["orders"] if amounts["refunded"] > 0)
        repeat = sum(1 for rows in per_customer.values() if len(rows) >= 2)
        visitors = len(entries["visitors"])
        result[key] = {
            "gmv": gmv,
            "paid_amount": paid,
            "refunded_amount": refunded,
            "orders": orders,
            "buyers": buyers,
            "visitors": visitors,
            "repeat_buyers": repeat,
            "units": units,
            "new_customers": len(new),
            "new_customer_gmv": sum(a["gmv"] for c in new for _, a in per_customer[c]),
            "new_customer_orders": sum(len(per_customer[c]) for c in new),
            "returning_customers": len(returning),
            "returning_customer_gmv": sum(a["gmv"] for c in returning for _, a in per_customer[c]),
            "returning_customer_orders": sum(len(per_customer[c]) for c in returning),
            "member_gmv": member_gmv,
            "refunded_orders": refunded_orders,
            "conversion_rate": _ratio(buyers, visitors),
            "aov": _ratio(gmv, orders),
            "purchase_frequency": _ratio(orders, buyers),
            "repurchase_rate": _ratio(repeat, buyers),
            "units_per_order": _ratio(units, orders),
            "member_sales_share": _ratio(member_gmv, gmv),
            "refund_rate": _ratio(refunded, paid),
            "refunded_order_rate": _ratio(refunded_orders, orders),
        }
    return result


def lmdi(base: Sequence[float], current: Sequence[float], totals: tuple[int, int]) -> list[float]:
    """Textbook additive LMDI for positive factors, written out independently; the
    weight is the log mean of the two (integer) GMVs the factors multiply to."""
    total_before, total_after = totals
    if total_before == total_after:
        weight = float(total_after)
    else:
        weight = (total_after - total_before) / math.log(total_after / total_before)
    return [weight * math.log(after / before) for before, after in zip(base, current, strict=True)]
