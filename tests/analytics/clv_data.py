"""Generated purchases for the CLV service and API tests, written through the OLTP
models, plus the plain-Python summary they should produce (local days in
Asia/Shanghai, same-day orders merged, fully refunded and unpaid orders ignored)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from siyu.models.customer import Customer
from siyu.models.order import Order

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 on 2026-11-22 in Shanghai
LAST_DAY = date(2026, 11, 21)  # the last whole local day
SHANGHAI = timedelta(hours=8)
_order_numbers = itertools.count(1)
STORES = (101, 102)


@dataclass
class Purchases:
    customers: dict[int, int | None] = field(default_factory=dict)  # id → store
    # (customer, local day, GMV fen) of every paid, not fully refunded order.
    orders: list[tuple[int, date, int]] = field(default_factory=list)

    def summary(self, until: date, unit_days: int) -> dict[int, tuple[float, ...]]:
        """customer → (frequency, recency, T, mean repeat value) up to ``until``."""
        days: dict[int, dict[date, int]] = {}
        for customer_id, day, amount in self.orders:
            if day <= until:
                per_day = days.setdefault(customer_id, {})
                per_day[day] = per_day.get(day, 0) + amount
        result = {}
        for customer_id, per_day in days.items():
            ordered = sorted(per_day)
            first, last = ordered[0], ordered[-1]
            repeat = [per_day[day] for day in ordered[1:]]
            result[customer_id] = (
                float(len(repeat)),
                (last - first).days / unit_days,
                (until - first).days / unit_days,
                sum(repeat) / len(repeat) if repeat else 0.0,
            )
        return result

    def purchase_days_between(self, after: date, until: date) -> dict[int, int]:
        days = {(c, d) for c, d, _amount in self.orders if after < d <= until}
        counts: dict[int, int] = {}
        for customer_id, _day in days:
            counts[customer_id] = counts.get(customer_id, 0) + 1
        return counts


def _paid_at(day: date, local_hour: int) -> datetime:
    return datetime.combine(day, time(local_hour), tzinfo=UTC) - SHANGHAI


def _order(
    session: Session,
    customer_id: int,
    store_id: int | None,
    day: date,
    hour: int,
    amount: int,
    *,
    refunded: int = 0,
    paid: bool = True,
) -> Order:
    at = _paid_at(day, hour)
    order = Order(
        public_id=f"clv-{next(_order_numbers)}",
        customer_id=customer_id,
        status="paid" if paid else "pending_payment",
        items_amount=amount,
        total_amount=amount,
        paid_amount=amount if paid else 0,
        refunded_amount=refunded,
        item_count=1,
        store_id=store_id,
        created_at=at - timedelta(minutes=3),
        updated_at=at,
        paid_at=at if paid else None,
    )
    session.add(order)
    return order


def build(session: Session, *, customers: int, seed: int = 8, first_days: int = 240) -> Purchases:
    """Customers who first bought 30..``first_days`` days before ``LAST_DAY`` and came back at
    their own rate; some orders share a day, some are refunded or never paid. Local
    hours 0..23 put UTC times on both sides of midnight."""
    rng = random.Random(seed)
    data = Purchases()
    for index in range(customers):
        store_id = STORES[index % 2] if index % 5 else None
        customer = Customer(
            consent={}, store_id=store_id, created_at=NOW - timedelta(days=500), updated_at=NOW
        )
        session.add(customer)
        session.flush()
        data.customers[customer.id] = store_id
        first = LAST_DAY - timedelta(days=rng.randint(30, first_days))
        rate = rng.choice((0.0, 0.01, 0.03, 0.08))
        days = [first]
        day = first
        while True:
            day += timedelta(days=1 + int(rng.expovariate(rate) if rate else 10_000))
            if day > LAST_DAY or rng.random() < 0.05:
                break
            days.append(day)
        for day in days:
            amount = rng.choice((3900, 9900, 15800, 29900)) + rng.randint(0, 99)
            hour = rng.randrange(24)
            roll = rng.random()
            if roll < 0.08:  # fully refunded: not a purchase
                _order(session, customer.id, store_id, day, hour, amount, refunded=amount)
                continue
            refunded = amount // 3 if roll < 0.16 else 0
            _order(session, customer.id, store_id, day, hour, amount, refunded=refunded)
            data.orders.append((customer.id, day, amount - refunded))
            if rng.random() < 0.1:  # a second order the same local day
                extra = rng.choice((1900, 4900))
                _order(session, customer.id, store_id, day, rng.randrange(24), extra)
                data.orders.append((customer.id, day, extra))
            if rng.random() < 0.05:  # an unpaid order
                _order(session, customer.id, store_id, day, hour, amount, paid=False)
    session.flush()
    return data
