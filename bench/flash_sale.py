"""Flash-sale reservations through HTTP: the database engine on SQLite and PostgreSQL,
and the Redis engine, each beside a naive read-check-write baseline that oversells.

Per engine, one fresh database and one ``siyu serve`` process (uvicorn, with its
in-process worker and the flash sale's background order writer, as deployed), driven
by ``wrk`` (Debian package ``wrk``) with a Lua script rotating shoppers' tokens:

- **reservations**: ``POST /api/shop/v1/campaigns/flash-sale/reservations`` on one
  live item with deep campaign stock and a per-customer limit of 50, so nearly every
  request succeeds (a click past the limit would be refused, 409). The
  figure is *successful reservations per second* (202 answers), with p50/p99.
  After the run the script checks the invariant on the database (the audit:
  stock left + sold + reserved = starting stock, nobody over the limit) and that
  every 202 became exactly one reservation row.
- **naive baseline**: the same 2,000 buyers for 100 units in this process with
  threads, reading the stock, checking it, then writing ``stock - 1`` (for Redis:
  ``GET`` then ``SET``). It is shown to oversell: more reservations than units.

Goals on this 2-core machine: Redis ≥ 3,000 reservations/s with p99 ≤ 50 ms; the
database engine ≥ 1,000/s on SQLite. Ratios to them are printed.

    .venv/bin/python bench/flash_sale.py
    .venv/bin/python bench/flash_sale.py --engine sqlite --engine redis --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import checkout as checkout_bench
import redis
from coupons import http_phase
from harness import SECRET_KEY, free_port, reset_database, start_server
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from siyu import handlers
from siyu.campaigns.flash_sale import audit, service
from siyu.campaigns.flash_sale.engines import RedisStock
from siyu.campaigns.flash_sale.schemas import FlashSaleIn, ItemIn, SessionIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings, install
from siyu.models.campaign import LifecycleStage
from siyu.models.flash_sale import (
    FlashSaleItem,
    FlashSaleReservation,
    FlashSaleSession,
    FlashSaleTally,
)
from siyu.staff.principal import command_line_principal

SQLITE = "sqlite"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/siyu_bench"
REDIS_URL = "redis://127.0.0.1:6379/11"
REDIS_GOAL = 3000
REDIS_P99_GOAL_MS = 50
SQLITE_GOAL = 1000
PER_CUSTOMER = 50
NAIVE_BUYERS = 2000
NAIVE_UNITS = 100
ADDRESS = {
    "recipient": "张三",
    "phone": "13800138000",
    "region": "上海市 静安区",
    "detail": "南京西路 1 号",
}


def make_sale(
    factory: sessionmaker[Session], sku_id: int, stock: int, redis_url: str | None
) -> tuple[str, int, int]:
    now = clock.now()
    starts, ends = now - timedelta(minutes=1), now + timedelta(hours=2)
    with transaction(factory) as session:
        campaign = service.create(
            session,
            command_line_principal("bench"),
            FlashSaleIn(
                campaign=CampaignFields(
                    name="bench 秒杀",
                    lifecycle_stage=LifecycleStage.CONVERT,
                    starts_at=starts,
                    ends_at=ends,
                ),
                sessions=[
                    SessionIn(
                        name="bench",
                        starts_at=starts,
                        ends_at=ends,
                        customer_rate_limit=100,
                        # wrk is one IP: the per-IP limit is set out of its way.
                        ip_rate_limit=100_000_000,
                        items=[
                            ItemIn(
                                sku_id=sku_id,
                                campaign_price=990,
                                starting_stock=stock,
                                per_customer_limit=PER_CUSTOMER,
                            )
                        ],
                    )
                ],
                publish=True,
            ),
            redis_url=redis_url,
        )
        row = service.sessions_of(session, [campaign.id])[0]
        item = service.items_of(session, [row.id])[0]
        return item.public_id, item.id, row.id


def naive_database(factory: sessionmaker[Session], item_id: int) -> tuple[int, float]:
    """Read the stock, check it, write ``read - 1``: two steps, so racing buyers all
    pass the check on the same value. Returns (units handed out, seconds)."""
    session_factory = factory
    with transaction(session_factory) as session:
        session.execute(
            update(FlashSaleItem).where(FlashSaleItem.id == item_id).values(stock_left=NAIVE_UNITS)
        )
    engine = factory.kw["bind"]
    handed_out = Counter[str]()
    barrier = threading.Barrier(50)

    def buy(lane: int) -> None:
        barrier.wait()
        for _ in range(NAIVE_BUYERS // 50):
            with engine.connect().execution_options(siyu_read_only=True) as connection:
                left = connection.execute(
                    select(FlashSaleItem.stock_left).where(FlashSaleItem.id == item_id)
                ).scalar_one()
                connection.rollback()
            if left <= 0:
                continue
            with engine.begin() as connection:
                connection.execute(
                    update(FlashSaleItem)
                    .where(FlashSaleItem.id == item_id)
                    .values(stock_left=left - 1)
                )
            handed_out["units"] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(buy, range(50)))
    return handed_out["units"], time.perf_counter() - started


def naive_redis(client: redis.Redis) -> tuple[int, float]:
    key = "bench:naive:stock"
    client.set(key, NAIVE_UNITS)
    handed_out = Counter[str]()
    barrier = threading.Barrier(50)

    def buy(lane: int) -> None:
        barrier.wait()
        for _ in range(NAIVE_BUYERS // 50):
            left = int(client.get(key) or 0)
            if left <= 0:
                continue
            client.set(key, left - 1)
            handed_out["units"] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(buy, range(50)))
    return handed_out["units"], time.perf_counter() - started


def print_naive(label: str, units: int, seconds: float) -> None:
    verdict = "OVERSOLD" if units > NAIVE_UNITS else "did not oversell this time"
    print(
        f"  naive read-check-write ({label}): {units} units handed out for {NAIVE_UNITS} "
        f"to {NAIVE_BUYERS} buyers — {verdict} ({NAIVE_BUYERS / seconds:,.0f} attempts/s)"
    )


def healthz_rate(url: str, data_dir: Path, seconds: float, connections: int) -> float:
    """``GET /healthz`` answered per second by a fresh server now: the reference for
    how loaded this machine is (an idle one answers ~2,900/s)."""
    port = free_port()
    server = start_server(url, data_dir, port)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{round(seconds)}s",
                f"http://127.0.0.1:{port}/healthz",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    line = next(row for row in output.splitlines() if row.startswith("Requests/sec:"))
    return float(line.split()[1])


def verify(
    factory: sessionmaker[Session],
    session_id: int,
    ok: float,
    stock: RedisStock | None,
    connections: int,
) -> None:
    """Every 202 is one reservation; the audit balances; nobody over the limit."""
    from siyu.campaigns.flash_sale import orders

    if stock is not None:
        # A worker stopped mid-drain leaves the drain lock until it expires (30 s).
        deadline = time.monotonic() + 45
        while (stock.queued() or stock.processing()) and time.monotonic() < deadline:
            if not orders.drain(factory, stock):
                time.sleep(0.5)
    with transaction(factory) as session:
        rows = session.scalar(select(func.count()).select_from(FlashSaleReservation)) or 0
        worst = session.scalar(select(func.max(FlashSaleTally.quantity))) or 0
        row = session.get(FlashSaleSession, session_id)
        assert row is not None
        report = audit.check(session, row, stock)
        ordered = session.scalar(
            select(func.count())
            .select_from(FlashSaleReservation)
            .where(FlashSaleReservation.order_id.is_not(None))
        )
    # wrk stops counting at its deadline; requests in flight then (one per connection
    # at most) still commit, so the rows may exceed the 202s counted by that many.
    extra = rows - ok
    consistent = 0 <= extra <= connections
    print(
        f"    check: {rows:,} reservations for {ok:,.0f} counted 202s "
        f"({'consistent' if consistent else 'INCONSISTENT'}: +{extra:,.0f} in flight at the "
        f"cut-off); most units per customer {worst} (limit {PER_CUSTOMER}); audit "
        f"{'balanced' if report.balanced else 'NOT BALANCED'}; {ordered:,} orders written "
        "by the end of the run"
    )


def start_worker(url: str, data_dir: Path, redis_url: str | None) -> subprocess.Popen[bytes]:
    """One ``siyu worker`` process beside the server: it runs the ``flash_sale.sweep``
    jobs that drain Redis and write orders, so the server spends itself on buyers."""
    environment = dict(
        os.environ, SIYU_DATABASE_URL=url, SIYU_SECRET_KEY=SECRET_KEY, SIYU_DATA_DIR=str(data_dir)
    )
    if redis_url:
        environment["SIYU_REDIS_URL"] = redis_url
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "siyu"), "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run(label: str, url: str, redis_url: str | None, arguments: argparse.Namespace) -> None:
    topology = (
        "server + `siyu worker`"
        if arguments.separate_worker
        else "server alone, no worker: orders after the run"
        if arguments.no_worker
        else "embedded worker"
    )
    print(f"\n== {label} ({topology})")
    reset_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    client = redis.Redis.from_url(redis_url) if redis_url else None
    if client is not None:
        client.flushdb()
    with tempfile.TemporaryDirectory() as temporary:
        data_dir = Path(temporary)
        install(
            Settings(
                database_url=url,
                secret_key=SECRET_KEY,
                data_dir=data_dir,
                run_worker=False,
                redis_url=redis_url,
            )
        )
        sku_ids, tokens = checkout_bench.seed(factory, arguments.customers)
        public_id, item_id, session_id = make_sale(factory, sku_ids[0], 1_000_000, redis_url)
        reference = healthz_rate(url, data_dir, 3, arguments.connections)
        print(f"  reference: GET /healthz {reference:,.0f}/s on this machine now")
        body = json.dumps({"item_id": public_id, "address": ADDRESS}, ensure_ascii=False)
        if redis_url:
            os.environ["SIYU_REDIS_URL"] = redis_url
        worker = None
        if arguments.separate_worker or arguments.no_worker:
            os.environ["SIYU_RUN_WORKER"] = "false"
        if arguments.separate_worker:
            worker = start_worker(url, data_dir, redis_url)
        try:
            result = http_phase(
                url,
                data_dir,
                "reservations",
                "/api/shop/v1/campaigns/flash-sale/reservations",
                [(token, body) for token in tokens],
                seconds=arguments.seconds,
                connections=arguments.connections,
            )
        finally:
            os.environ.pop("SIYU_REDIS_URL", None)
            os.environ.pop("SIYU_RUN_WORKER", None)
            if worker is not None:
                worker.send_signal(signal.SIGINT)
                worker.wait(timeout=30)
        ok = result["requests"] - result["non_2xx"] - result["errors"]
        stock = RedisStock(client) if client is not None else None
        verify(factory, session_id, ok, stock, arguments.connections)
        if redis_url:
            goal = f"ratio to goal {REDIS_GOAL}/s: {result['ok_per_second'] / REDIS_GOAL:.2f}; "
            goal += f"p99 {result['p99_ms']:.1f} ms vs {REDIS_P99_GOAL_MS} ms"
        elif url.startswith("sqlite"):
            ratio = result["ok_per_second"] / SQLITE_GOAL
            goal = f"ratio to goal {SQLITE_GOAL}/s: {ratio:.2f}"
        else:
            ratio = result["ok_per_second"] / SQLITE_GOAL
            goal = f"ratio to the SQLite goal {SQLITE_GOAL}/s: {ratio:.2f}"
        print(f"    {goal}; reservations / healthz: {result['ok_per_second'] / reference:.2f}")
        if client is not None:
            units, seconds = naive_redis(client)
            print_naive("Redis GET then SET", units, seconds)
        else:
            units, seconds = naive_database(factory, item_id)
            print_naive("SELECT then UPDATE", units, seconds)
            with transaction(factory) as session:
                session.execute(text("SELECT 1"))
    if client is not None:
        client.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", action="append", choices=["sqlite", "postgresql", "redis"])
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="run the server without its in-process worker, beside one `siyu worker`",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="run the server without any worker: the reserve path alone (the check "
        "drains Redis after the run)",
    )
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the HTTP load: apt-get install wrk")
    clock.install(clock.SystemClock())
    handlers.load_all()
    engines = arguments.engine or ["sqlite", "postgresql", "redis"]
    with tempfile.TemporaryDirectory() as directory:
        sqlite_url = f"sqlite:///{directory}/bench.db"
        for name in engines:
            if name == "sqlite":
                run("database engine on SQLite", sqlite_url, None, arguments)
            elif name == "postgresql":
                run("database engine on PostgreSQL", arguments.postgres_url, None, arguments)
            else:
                run(
                    "Redis engine (orders written to SQLite)",
                    f"sqlite:///{directory}/bench-redis.db",
                    arguments.redis_url,
                    arguments,
                )


if __name__ == "__main__":
    main()
