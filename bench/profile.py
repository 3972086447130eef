"""Customer 360 and timeline latency with 1,000,000 customers and 20,000,000 events.

The data is generated straight into a migrated SQLite file (plain ``sqlite3``
executemany in big transactions; the one index that would take random inserts,
``ix_tracked_event_customer_time``, is dropped during the load and rebuilt once at
the end, exactly as the migration defines it). Events arrive in time order, each
for a random customer, so one customer's events are scattered over the table as in
real life; 10 % of them belong to 1,000 "heavy" customers (~2,000 events each).
Every customer has an encrypted phone and a unionid.

Then it times the service calls the API makes — ``profile.get_profile`` and
``timeline.timeline`` (page 1, 50 events) — each in its own session, over random
customers and over the heavy ones, and compares deep timeline pages: the keyset
cursor against the naive ``OFFSET`` and "load every event, then slice".

    .venv/bin/python bench/profile.py                      # 1 M customers, 20 M events
    .venv/bin/python bench/profile.py --customers 100000 --events 1000000   # quick

Goal (issue 3): p99 <= 30 ms for both calls. The database file is deleted at the end
unless --keep is given.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory
from siyu.core.migrations import upgrade
from siyu.customers import profile, timeline
from siyu.models.tracking import TrackedEvent
from siyu.staff.principal import command_line_principal

SECRET = "bench-secret-key-" + "k" * 32
HEAVY_CUSTOMERS = 1_000
HEAVY_SHARE = 0.10
# A handful of "whales" (customers 1–5: a store's shared walk-in card, a bot …) with
# ~100,000 events each: where OFFSET pagination shows its cost.
WHALES = 5
WHALE_SHARE = 0.025
WHALE_DEPTH = 50_000
WHALE_ROUNDS = 40
BATCH = 200_000
END = datetime(2026, 11, 22, tzinfo=UTC)
TYPES = ["page_view", "product_view", "search", "add_to_cart", "share", "order_paid"]
TOUCHPOINTS = ["mp", "oa", "wecom", "h5", "offline"]
SAMPLES = 3_000
HEAVY_SAMPLES = 500
DEEP_OFFSET = 1_500
PAGE = 50


def _stamp(moment: datetime) -> str:
    # How SQLAlchemy's SQLite dialect stores DATETIME (UTC, naive, microseconds).
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _batches(rows: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def generate(path: Path, customers: int, events: int) -> None:
    url = f"sqlite:///{path}"
    upgrade(url)
    cipher = PiiCipher(SECRET)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-1000000")
    connection.execute("DROP INDEX ix_tracked_event_customer_time")
    created = _stamp(END - timedelta(days=400))

    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO customer (id, status, name, consent, created_at, updated_at, "
        "first_touchpoint, last_touchpoint) VALUES (?, 'active', ?, '{}', ?, ?, ?, ?)",
        (
            (n, f"客户{n}", created, created, TOUCHPOINTS[n % 5], TOUCHPOINTS[n % 3])
            for n in range(1, customers + 1)
        ),
    )

    def identities() -> Iterator[tuple[object, ...]]:
        for n in range(1, customers + 1):
            phone = f"1{3 + n % 7}{n:09d}"
            yield (
                n,
                "phone",
                cipher.lookup_hash(phone, context="phone"),
                None,
                cipher.encrypt(phone, context="phone"),
                created,
                created,
            )
            yield (n, "unionid", f"union-{n}", f"union-{n}", None, created, created)

    for batch in _batches(identities()):
        connection.executemany(
            "INSERT INTO customer_identity (customer_id, kind, namespace, lookup_key, value, "
            "encrypted_value, created_at, last_seen_at) VALUES (?, ?, '', ?, ?, ?, ?, ?)",
            batch,
        )
    connection.execute("COMMIT")
    print(f"customers + identities: {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    rng = random.Random(7)
    span_seconds = 365 * 24 * 3600
    start = END - timedelta(seconds=span_seconds)
    # Minute stamps computed once; events pick one by index.
    minutes = [_stamp(start + timedelta(minutes=m)) for m in range(span_seconds // 60 + 1)]
    step = span_seconds / 60 / events

    def event_rows() -> Iterator[tuple[object, ...]]:
        for n in range(events):
            draw = rng.random()
            if draw < WHALE_SHARE:
                customer = rng.randint(1, WHALES)
            elif draw < WHALE_SHARE + HEAVY_SHARE:
                customer = rng.randint(WHALES + 1, HEAVY_CUSTOMERS)
            else:
                customer = rng.randint(1, customers)
            stamp = minutes[int(n * step)]
            yield (
                f"ev{n:010d}",
                customer,
                TYPES[n % 6],
                stamp,
                stamp,
                TOUCHPOINTS[n % 5],
                f'{{"sku_id": {n % 5000}}}',
            )

    loaded = 0
    for batch in _batches(event_rows()):
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO tracked_event (event_id, customer_id, type, occurred_at, received_at, "
            "touchpoint, context, properties) VALUES (?, ?, ?, ?, ?, ?, '{}', ?)",
            batch,
        )
        connection.execute("COMMIT")
        loaded += len(batch)
        if loaded % 2_000_000 == 0:
            rate = loaded / (time.perf_counter() - started)
            print(f"  {loaded:,} events ({rate:,.0f}/s)", flush=True)
    print(f"events: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    connection.execute(
        "CREATE INDEX ix_tracked_event_customer_time ON tracked_event "
        "(customer_id, occurred_at, id)"
    )
    connection.execute("ANALYZE")
    print(f"index + analyze: {time.perf_counter() - started:.1f} s", flush=True)
    connection.close()


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return (
        f"p50 {cuts[49] * 1000:6.2f} ms  p95 {cuts[94] * 1000:6.2f} ms  "
        f"p99 {cuts[98] * 1000:6.2f} ms  max {ordered[-1] * 1000:6.2f} ms  (n={len(ordered)})"
    )


def measure(name: str, ids: list[int], call: Callable[[int], object]) -> list[float]:
    for customer_id in ids[:50]:
        call(customer_id)  # warm the page cache and the statement cache
    samples = []
    for customer_id in ids:
        began = time.perf_counter()
        call(customer_id)
        samples.append(time.perf_counter() - began)
    print(f"{name:<44} {percentiles(samples)}", flush=True)
    return samples


def run(path: Path, customers: int, events: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    cipher = PiiCipher(SECRET)
    principal = command_line_principal("bench")
    rng = random.Random(11)
    randoms = rng.sample(range(1, customers + 1), SAMPLES)
    heavies = rng.sample(range(WHALES + 1, HEAVY_CUSTOMERS + 1), HEAVY_SAMPLES)

    def get_profile(customer_id: int) -> object:
        with factory() as session:
            return profile.get_profile(session, principal, cipher, customer_id)

    def first_page(customer_id: int) -> object:
        with factory() as session:
            return timeline.timeline(session, principal, customer_id, limit=PAGE)

    def keyset_deep(customer_id: int) -> object:
        # The statement the service runs, with the cursor a client holds after `deep`
        # events (taken outside the timing); the same session as the OFFSET baseline.
        statement = timeline.timeline_statement(
            customer_id, limit=PAGE, cursor=cursors[customer_id]
        )
        return list(cursor_session.scalars(statement))

    def offset_deep(customer_id: int) -> object:
        statement = (
            select(TrackedEvent)
            .where(TrackedEvent.customer_id == customer_id)
            .order_by(TrackedEvent.occurred_at.desc(), TrackedEvent.id.desc())
            .offset(deep)
            .limit(PAGE + 1)
        )
        return list(cursor_session.scalars(statement))

    def load_all_then_slice(customer_id: int) -> object:
        statement = select(TrackedEvent).where(TrackedEvent.customer_id == customer_id)
        rows = sorted(cursor_session.scalars(statement), key=lambda e: (e.occurred_at, e.id))
        return rows[::-1][:PAGE]

    profile_random = measure("get_profile, random customers", randoms, get_profile)
    timeline_random = measure("timeline page 1, random customers", randoms, first_page)
    measure("get_profile, heavy customers (~2,000 events)", heavies, get_profile)
    measure("timeline page 1, heavy customers", heavies, first_page)
    whales = list(range(1, WHALES + 1)) * WHALE_ROUNDS
    measure("get_profile, whales (~100,000 events)", whales, get_profile)
    measure("timeline page 1, whales", whales, first_page)
    with factory() as cursor_session:
        cursors: dict[int, str] = {}
        deep = 0

        def take_cursors(ids: list[int], depth: int) -> None:
            for customer_id in set(ids):
                row = cursor_session.execute(
                    select(TrackedEvent.occurred_at, TrackedEvent.id)
                    .where(TrackedEvent.customer_id == customer_id)
                    .order_by(TrackedEvent.occurred_at.desc(), TrackedEvent.id.desc())
                    .offset(depth - 1)
                    .limit(1)
                ).one()
                cursors[customer_id] = timeline.encode_cursor(row.occurred_at, row.id)

        deep = min(DEEP_OFFSET, int(events * HEAVY_SHARE / HEAVY_CUSTOMERS / 2))
        take_cursors(heavies, deep)
        keyset = measure(f"deep page (after {deep}) keyset, heavy", heavies, keyset_deep)
        offset = measure(f"deep page (after {deep}) OFFSET, heavy", heavies, offset_deep)
        naive = measure("page 1, load-all-then-slice, heavy", heavies, load_all_then_slice)
        deep = min(WHALE_DEPTH, int(events * WHALE_SHARE / WHALES / 2))
        take_cursors(whales, deep)
        whale_keyset = measure(f"deep page (after {deep:,}) keyset, whales", whales, keyset_deep)
        whale_offset = measure(f"deep page (after {deep:,}) OFFSET, whales", whales, offset_deep)
    median = statistics.median
    print(
        f"heavy: OFFSET / keyset = {median(offset) / median(keyset):.1f}x (median); "
        f"load-all / keyset = {median(naive) / median(keyset):.1f}x; "
        f"whales: OFFSET / keyset = {median(whale_offset) / median(whale_keyset):.1f}x"
    )
    worst = max(
        sorted(profile_random)[int(len(profile_random) * 0.99)],
        sorted(timeline_random)[int(len(timeline_random) * 0.99)],
    )
    print(f"goal p99 <= 30 ms on random customers: {'met' if worst <= 0.030 else 'NOT met'}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--path", type=Path, default=None, help="reuse or keep this database")
    parser.add_argument("--keep", action="store_true")
    arguments = parser.parse_args()
    path = arguments.path or Path(tempfile.gettempdir()) / "siyu-bench-profile.db"
    fresh = not path.exists()
    try:
        if fresh:
            generate(path, arguments.customers, arguments.events)
        size = path.stat().st_size / 1e9
        print(
            f"database: {path} ({size:.1f} GB), {arguments.customers:,} customers, "
            f"{arguments.events:,} events",
            flush=True,
        )
        run(path, arguments.customers, arguments.events)
    finally:
        if not arguments.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
