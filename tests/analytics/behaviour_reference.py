"""Random OLTP data for the traffic map, funnel and cohort tests, and the plain-Python
computations they are compared with (no SQL: lists, dicts and the documented rules of
docs/analytics-behaviour.md)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.models.channel_code import ChannelCode
from siyu.models.customer import Customer, CustomerIdentity, CustomerStaffLink
from siyu.models.order import Order
from siyu.models.tracking import TrackedEvent
from siyu.warehouse.engine import Warehouse
from tests.analytics.helpers import commit_and_export
from tests.factories import make_staff

ZONE = ZoneInfo("Asia/Shanghai")
KINDS = {
    "ecommerce": "ecommerce",
    "ad": "ads",
    "xiaohongshu": "content",
    "store_poster": "offline_store",
}
EVENT_TYPES = ("product_view", "add_to_cart", "checkout_start", "group_join", "subscribe", "share")
TOUCHPOINTS = ("mp", "oa", "h5", None)
CATEGORIES = ("口红", "面霜")
STORES = (1, 2, None)


@dataclass
class World:
    now: datetime  # naive UTC
    codes: dict[int, str] = field(default_factory=dict)  # channel code id → source group
    campaigns: list[int] = field(default_factory=list)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    identities: list[tuple[int, str]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)


def local_day(moment: datetime) -> date:
    return moment.replace(tzinfo=UTC).astimezone(ZONE).date()


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    begin = datetime(start.year, start.month, start.day, tzinfo=ZONE)
    finish = datetime(end.year, end.month, end.day, tzinfo=ZONE) + timedelta(days=1)
    return begin.astimezone(UTC).replace(tzinfo=None), finish.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _random_moment(rng: random.Random, low: datetime, high: datetime) -> datetime:
    # Whole minutes, so ties between events happen now and then.
    minutes = max(1, int((high - low).total_seconds() // 60))
    return low + timedelta(minutes=rng.randrange(minutes))


def build(session: Session, rng: random.Random, *, now: datetime, customers: int) -> World:
    """Customers first touched over ~100 days with identities, WeCom links, tracked
    events and orders (some unpaid, some refunded, some referred)."""
    world = World(now=now.replace(tzinfo=None))
    for index, kind in enumerate(KINDS):
        code = ChannelCode(
            code=f"bh-{index}-{rng.random():.6f}"[:30],
            name=f"码{index}",
            kind=kind,
            touchpoint="mp",
        )
        session.add(code)
        session.flush()
        world.codes[code.id] = KINDS[kind]
    staff = make_staff(session, store_id=1)
    world.campaigns = [101, 102]
    start = world.now - timedelta(days=100)
    for _ in range(customers):
        touched = _random_moment(rng, start, world.now - timedelta(days=1))
        has_touch = rng.random() > 0.15
        code_id = rng.choice([*world.codes, None])
        customer = Customer(
            consent={},
            store_id=rng.choice(STORES),
            first_touch_at=_aware(touched) if has_touch else None,
            first_touch_channel_code_id=code_id if has_touch else None,
            created_at=_aware(touched),
            updated_at=_aware(touched),
        )
        session.add(customer)
        session.flush()
        world.customers[customer.id] = {
            "touched": touched,
            "code": code_id if has_touch else None,
            "store": customer.store_id,
        }
        for kind in ("oa_openid", "mp_openid"):
            if rng.random() < 0.3:
                session.add(
                    CustomerIdentity(
                        customer_id=customer.id,
                        kind=kind,
                        namespace="ns",
                        lookup_key=f"{kind}-{customer.id}",
                        value=f"{kind}-{customer.id}",
                        created_at=_aware(touched),
                        last_seen_at=_aware(touched),
                    )
                )
                world.identities.append((customer.id, kind))
        if rng.random() < 0.25:
            removed = _aware(touched + timedelta(days=3)) if rng.random() < 0.4 else None
            session.add(
                CustomerStaffLink(
                    customer_id=customer.id,
                    staff_id=staff.id,
                    added_at=_aware(touched),
                    removed_at=removed,
                )
            )
            world.links.append({"customer_id": customer.id, "removed": removed is not None})
        _add_events(session, rng, world, customer.id, touched)
        _add_orders(session, rng, world, customer.id, touched)
    session.flush()
    return world


def build_exported(
    engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    *,
    seed: int,
    customers: int,
) -> World:
    """A world committed (outside the test's rolled-back session) and synced to the
    warehouse as of the (frozen) clock's now."""
    return commit_and_export(
        engine,
        session_factory,
        warehouse,
        lambda session, now: build(session, random.Random(seed), now=now, customers=customers),
    )


def _add_events(
    session: Session, rng: random.Random, world: World, customer_id: int, touched: datetime
) -> None:
    at = touched
    # A shopping session first (how far it goes is random), then anything.
    script = ["product_view", "add_to_cart", "checkout_start"][: rng.randint(0, 3)]
    for number in range(max(len(script), rng.choice((0, 2, 4, 8)))):
        at = at + timedelta(minutes=rng.choice((0, 1, 30, 200, 1500, 4000)))
        if at >= world.now:
            break
        event = TrackedEvent(
            event_id=f"bh-{customer_id}-{len(world.events)}-{rng.random():.8f}",
            customer_id=customer_id,
            type=script[number] if number < len(script) else rng.choice(EVENT_TYPES),
            occurred_at=_aware(at),
            received_at=_aware(at),
            touchpoint=rng.choice(TOUCHPOINTS),
            channel_code_id=rng.choice([*world.codes, None]),
            properties={"category": rng.choice(CATEGORIES)},
            context={},
        )
        session.add(event)
        session.flush()
        world.events.append(
            {
                "id": event.id,
                "customer_id": customer_id,
                "type": event.type,
                "at": at,
                "touchpoint": event.touchpoint,
                "channel_code_id": event.channel_code_id,
                "campaign_id": None,
                "category": event.properties["category"],
            }
        )


def _add_orders(
    session: Session, rng: random.Random, world: World, customer_id: int, touched: datetime
) -> None:
    earlier = [cid for cid in world.customers if cid != customer_id]
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
        paid_at = _random_moment(rng, touched, world.now)
        own = [event["at"] for event in world.events if event["customer_id"] == customer_id]
        if own and rng.random() < 0.6:  # shortly after browsing, so funnels convert
            paid_at = min(world.now, rng.choice(own) + timedelta(minutes=rng.choice((5, 90, 900))))
        paid = rng.random() > 0.1
        total = rng.choice((4900, 9900, 19900))
        refunded = rng.choice((0, 0, 0, total, total // 2)) if paid else 0
        order = Order(
            public_id=f"bh-{customer_id}-{len(world.orders)}-{rng.random():.8f}",
            customer_id=customer_id,
            status="paid" if paid else "pending_payment",
            items_amount=total,
            total_amount=total,
            paid_amount=total if paid else 0,
            refunded_amount=refunded,
            item_count=1,
            store_id=rng.choice(STORES),
            touchpoint=rng.choice(TOUCHPOINTS),
            channel_code_id=rng.choice([*world.codes, None]),
            campaign_id=rng.choice([*world.campaigns, None]),
            referrer_customer_id=rng.choice(earlier) if earlier and rng.random() < 0.3 else None,
            created_at=_aware(paid_at - timedelta(minutes=3)),
            updated_at=_aware(paid_at),
            paid_at=_aware(paid_at) if paid else None,
        )
        session.add(order)
        session.flush()
        if paid:
            world.orders.append(
                {
                    "id": order.id,
                    "customer_id": customer_id,
                    "at": paid_at,
                    "gmv": total - refunded,
                    "store": order.store_id,
                    "touchpoint": order.touchpoint,
                    "channel_code_id": order.channel_code_id,
                    "campaign_id": order.campaign_id,
                    "referrer": order.referrer_customer_id,
                }
            )


# Scope -------------------------------------------------------------------------------


def in_scope_customer(world: World, customer_id: int, store: int | None) -> bool:
    return store is None or world.customers[customer_id]["store"] == store


def scoped_orders(world: World, store: int | None) -> list[dict[str, Any]]:
    return [order for order in world.orders if store is None or order["store"] == store]


def first_order_ids(world: World) -> dict[int, int]:
    """customer → id of their first paid order, brand-wide (earliest; ties: any)."""
    firsts: dict[int, dict[str, Any]] = {}
    for order in world.orders:
        best = firsts.get(order["customer_id"])
        if best is None or order["at"] < best["at"]:
            firsts[order["customer_id"]] = order
    return {customer: order["id"] for customer, order in firsts.items()}


# Traffic map and lifecycle funnel ----------------------------------------------------


def acquired(world: World, start: date, end: date, store: int | None) -> dict[int, str]:
    """customer → source group of customers first touched in the period."""
    begin, finish = utc_bounds(start, end)
    result = {}
    for customer_id, row in world.customers.items():
        if begin <= row["touched"] < finish and in_scope_customer(world, customer_id, store):
            result[customer_id] = (
                world.codes.get(row["code"], "direct") if row["code"] else "direct"
            )
    return result


def traffic(
    world: World, start: date, end: date, store: int | None = None
) -> dict[tuple[str, str], tuple[int, ...]]:
    """(source group, primary touchpoint) → (customers, first-order, repeat customers)."""
    begin, _finish = utc_bounds(start, end)
    people = acquired(world, start, end, store)
    kinds = defaultdict(set)
    for customer_id, kind in world.identities:
        kinds[customer_id].add(kind)
    linked = {link["customer_id"] for link in world.links}
    grouped, on_mp = set(), set()
    for event in world.events:
        if event["at"] >= begin:
            if event["type"] == "group_join":
                grouped.add(event["customer_id"])
            if event["touchpoint"] == "mp":
                on_mp.add(event["customer_id"])
    orders: dict[int, int] = defaultdict(int)
    for order in scoped_orders(world, store):
        if order["at"] >= begin:
            orders[order["customer_id"]] += 1
    flows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for customer_id, source in people.items():
        if customer_id in linked:
            touchpoint = "wecom"
        elif customer_id in grouped:
            touchpoint = "community"
        elif "oa_openid" in kinds[customer_id]:
            touchpoint = "oa"
        elif "mp_openid" in kinds[customer_id] or customer_id in on_mp:
            touchpoint = "mp"
        else:
            touchpoint = "none"
        counts = flows[(source, touchpoint)]
        counts[0] += 1
        counts[1] += orders[customer_id] >= 1
        counts[2] += orders[customer_id] >= 2
    return {key: tuple(value) for key, value in flows.items()}


def lifecycle(world: World, start: date, end: date, store: int | None = None) -> dict[str, int]:
    begin, _finish = utc_bounds(start, end)
    people = set(acquired(world, start, end, store))
    reachable = {link["customer_id"] for link in world.links if not link["removed"]}
    reachable |= {customer for customer, kind in world.identities if kind == "oa_openid"}
    reachable |= {
        event["customer_id"]
        for event in world.events
        if event["type"] == "subscribe" and event["at"] >= begin
    }
    orders = [order for order in scoped_orders(world, store) if order["at"] >= begin]
    firsts = set(first_order_ids(world).values())
    return {
        "acquire": len(people),
        "retain": len(people & reachable),
        "convert": len(people & {order["customer_id"] for order in orders}),
        "refer": len(people & {order["referrer"] for order in orders if order["id"] in firsts}),
    }


# Funnels -----------------------------------------------------------------------------


def funnel_depths(
    occurrences: list[list[tuple[datetime, int, dict[str, Any]]]],
    begin: datetime,
    finish: datetime,
    window: timedelta,
) -> tuple[int, dict[str, Any] | None]:
    """One customer's deepest step (0 = never started) and the start reaching it.

    ``occurrences[k]`` are the (time, id, attributes) of step k+1, any order."""
    best_depth, best_start = 0, None
    for start_at, _start_id, attributes in sorted(occurrences[0], key=lambda item: item[:2]):
        if not begin <= start_at < finish:
            continue
        depth, last = 1, start_at
        for later in occurrences[1:]:
            candidates = [at for at, _id, _attrs in later if last < at <= start_at + window]
            if not candidates:
                break
            last = min(candidates)
            depth += 1
        if depth > best_depth:
            best_depth, best_start = depth, attributes
    return best_depth, best_start


def funnel(
    world: World,
    start: date,
    end: date,
    steps: list[dict[str, Any]],
    window: timedelta,
    slice_column: str | None = None,
    store: int | None = None,
) -> tuple[list[int], dict[Any, list[int]]]:
    """Customers reaching each step, overall and per slice value of the best start."""
    begin, finish = utc_bounds(start, end)
    per_customer: dict[int, list[list[tuple[datetime, int, dict[str, Any]]]]] = defaultdict(
        lambda: [[] for _ in steps]
    )
    for number, step in enumerate(steps):
        if step["type"] == "order_paid":
            rows = [dict(order) for order in scoped_orders(world, store)]
        else:
            rows = [
                event
                for event in world.events
                if event["type"] == step["type"]
                and in_scope_customer(world, event["customer_id"], store)
                and all(
                    str(event.get(key)) == str(value)
                    for key, value in step.get("where", {}).items()
                )
            ]
        for row in rows:
            per_customer[row["customer_id"]][number].append((row["at"], row["id"], row))
    totals = [0] * len(steps)
    slices: dict[Any, list[int]] = defaultdict(lambda: [0] * len(steps))
    for occurrences in per_customer.values():
        depth, first = funnel_depths(occurrences, begin, finish, window)
        for number in range(depth):
            totals[number] += 1
            if slice_column is not None and first is not None:
                slices[first[slice_column]][number] += 1
    return totals, dict(slices)


# Cohorts -----------------------------------------------------------------------------


def _month(day: date) -> int:
    return day.year * 12 + day.month - 1


def cohorts(
    world: World, start: date, end: date, today: date, by: str, store: int | None = None
) -> dict[str, dict[str, Any]]:
    firsts = set(first_order_ids(world).values())
    orders = scoped_orders(world, store)
    begin, finish = utc_bounds(start, end)
    members: dict[int, tuple[str, int]] = {}
    for order in orders:
        if order["id"] in firsts and begin <= order["at"] < finish:
            day = local_day(order["at"])
            key = (
                f"{day.year:04d}-{day.month:02d}"
                if by == "month"
                else (
                    world.codes.get(order["channel_code_id"], "direct")
                    if order["channel_code_id"]
                    else "direct"
                )
            )
            members[order["customer_id"]] = (key, _month(day))
    current = _month(today)
    if not members:
        return {}
    span = current - min(first for _key, first in members.values())
    history: dict[int, list[tuple[datetime, int, int, int]]] = defaultdict(list)
    for order in orders:
        if order["customer_id"] in members and order["at"] >= begin:
            offset = _month(local_day(order["at"])) - members[order["customer_id"]][1]
            history[order["customer_id"]].append((order["at"], order["id"], offset, order["gmv"]))
    result: dict[str, dict[str, Any]] = {}
    for key in {key for key, _first in members.values()}:
        people = [customer for customer, (own, _first) in members.items() if own == key]
        retention: list[float | None] = []
        repurchase: list[float | None] = []
        ltv: list[int | None] = []
        for offset in range(span + 1):
            observed = [c for c in people if members[c][1] + offset <= current]
            if not observed:
                retention.append(None)
                repurchase.append(None)
                ltv.append(None)
                continue
            active = sum(1 for c in observed if any(o[2] == offset for o in history[c]))
            repeated = 0
            spent = 0
            for customer in observed:
                ordered = sorted(history[customer])
                if len(ordered) >= 2 and ordered[1][2] <= offset:
                    repeated += 1
                spent += sum(o[3] for o in ordered if o[2] <= offset)
            retention.append(active / len(observed))
            repurchase.append(repeated / len(observed))
            ltv.append(int((Decimal(spent) / len(observed)).quantize(Decimal(1), ROUND_HALF_UP)))
        result[key] = {
            "customers": len(people),
            "retention": retention,
            "repurchase": repurchase,
            "ltv": ltv,
        }
    return result
