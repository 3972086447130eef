"""`siyu demo`: generate the whole demo brand, deterministically for a seed.

Phases: venues and staff → catalog and opening stock → customers (identities,
attribution, browsing, carts) → orders in time order (payments, stock, refunds,
domain events) → stock levels. Everything is written in the caller's transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes.attribution import ensure_tags
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.demo.brand.behaviour import Tracker, browse_sessions, write_cart
from siyu.demo.brand.catalog import DemoSku, build_catalog
from siyu.demo.brand.ledger import StockBook
from siyu.demo.brand.lifecycle import OrderMaker, OrderPlan, Rules
from siyu.demo.brand.people import PeopleFactory, arrival_times, purchase_times
from siyu.demo.brand.venues import build_venues
from siyu.demo.brand.writer import BulkWriter, IdAllocator
from siyu.models.catalog import Product

DEFAULT_CUSTOMERS = 50_000
DEFAULT_DAYS = 180
DEFAULT_SEED = 42
DEMO_MP_APP_ID = "wxdemo0000000000"
# Progress is reported every this many customers or orders.
PROGRESS_EVERY = 500

Progress = Callable[[str, int, int], None]


def no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass
class DemoSummary:
    customers: int
    orders: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


def has_catalog(session: Session) -> bool:
    return bool(session.execute(select(func.count()).select_from(Product)).scalar())


def generate(
    session: Session,
    settings: Settings,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    progress: Progress = no_progress,
) -> DemoSummary:
    started = time.perf_counter()
    rng = random.Random(seed)
    now = clock.now()
    start = now - timedelta(days=days)
    ids = IdAllocator(session)
    writer = BulkWriter(session)
    cipher = PiiCipher(settings.resolved_secret_key())

    venues = build_venues(rng, ids, writer, start=start - timedelta(days=30))
    catalog = build_catalog(
        rng,
        ids,
        writer,
        store_ids=[store.id for store in venues.stores],
        start=start - timedelta(days=30),
    )
    writer.flush()
    tag_ids = ensure_tags(session, {name for code in venues.codes for name in code.tag_names})
    stock = StockBook(writer, venues.operator)
    _opening_stock(
        rng,
        stock,
        catalog.skus,
        venues.warehouse_id,
        [store.id for store in venues.stores],
        start - timedelta(days=1),
    )
    progress("catalog", 1, 1)

    tracker = Tracker(rng, writer)
    people = PeopleFactory(
        rng,
        venues,
        cipher=cipher,
        mp_app_id=settings.wechat_mp_appid or DEMO_MP_APP_ID,
        now=now,
        tag_ids=tag_ids,
    )
    maker = OrderMaker(
        rng,
        ids=ids,
        writer=writer,
        catalog=catalog,
        venues=venues,
        stock=stock,
        tracker=tracker,
        cipher=cipher,
        now=now,
        rules=Rules(
            shipping_fee=settings.shipping_fee,
            free_shipping_threshold=settings.free_shipping_threshold,
            payment_minutes=settings.order_payment_minutes,
            auto_complete_days=settings.order_auto_complete_days,
            return_window_days=settings.order_return_window_days,
        ),
    )
    mall_skus = catalog.for_channel("mall")
    plans: list[OrderPlan] = []
    arrivals = arrival_times(rng, customers, start=start, now=now)
    for number, arrival in enumerate(arrivals, start=1):
        customer = people.plan(ids.take("customer"), arrival)
        purchases = purchase_times(rng, customer, now=now)
        sessions = browse_sessions(rng, customer, now=now)
        moments = [arrival] + [moment for moment, _ in purchases] + sessions
        people.write(writer, customer, max(moments))
        touchpoint = customer.code.touchpoint
        tracker.browse(
            customer.id,
            arrival,
            touchpoint,
            rng.sample(mall_skus, rng.randint(1, 3)),
            channel_code_id=customer.code.id,
        )
        carted: list[DemoSku] = []
        for index, session_start in enumerate(sessions):
            viewed = rng.sample(mall_skus, rng.randint(1, 4))
            is_last = index == len(sessions) - 1
            leaves_cart = (
                is_last
                and rng.random() < 0.3
                and (not purchases or purchases[-1][0] < session_start)
            )
            carted = viewed[: rng.randint(1, 2)] if leaves_cart else []
            ended = tracker.browse(customer.id, session_start, "mp", viewed, carted=carted)
            if carted:
                write_cart(writer, customer.id, carted, ended)
        plans.extend(OrderPlan(customer, moment, first) for moment, first in purchases)
        if number % PROGRESS_EVERY == 0 or number == customers:
            progress("customers", number, customers)

    plans.sort(key=lambda plan: (plan.created_at, plan.customer.id))
    for number, plan in enumerate(plans, start=1):
        maker.make(plan)
        if number % PROGRESS_EVERY == 0 or number == len(plans):
            progress("orders", number, len(plans))

    stock.write_levels(now)
    writer.flush()
    ids.fix_sequences()
    progress("done", 1, 1)
    return DemoSummary(
        customers=customers,
        orders=len(plans),
        seconds=time.perf_counter() - started,
        rows=dict(writer.counts),
    )


def _opening_stock(
    rng: random.Random,
    stock: StockBook,
    skus: list[DemoSku],
    warehouse_id: int,
    store_ids: list[int],
    at: datetime,
) -> None:
    for sku in skus:
        if "mall" in sku.channels:
            stock.receive(sku.id, warehouse_id, rng.randint(200, 800), at, "期初入库")
        for store_id in store_ids:
            stock.receive(sku.id, store_id, rng.randint(20, 80), at, "期初入库")
