"""Coupon claims and checkouts with coupon + points, on SQLite and PostgreSQL.

Per database, three figures through HTTP against one ``siyu serve`` process (uvicorn,
with its in-process worker, as deployed), each beside the same work done in this
process without HTTP (the service layer, one request at a time):

- **claim burst**: ``POST /api/shop/v1/coupons/claim`` from many shoppers on a coupon
  with no quantity limit (every claim succeeds);
- **sell-out burst**: 10,000 claims on a coupon of quantity 5,000 with a per-customer
  limit of 3 — the run checks that exactly 5,000 were issued and no customer holds
  more than 3;
- **checkout**: ``POST /api/shop/v1/orders`` with a coupon code and points, each request
  a different shopper's own coupon (pricing pipeline, coupon redemption and points
  spend in the order's transaction).

The load comes from ``wrk`` (Debian package ``wrk``), a C load generator with a Lua
script that rotates shoppers' tokens and bodies, so the generator takes little of the
2-core machine's CPU (its share is printed). The issue's goals are ≥ 2,000 claims/s and
≥ 800 checkouts/s with one server process; ratios to them are printed.

    .venv/bin/python bench/coupons.py
    .venv/bin/python bench/coupons.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/siyu_bench
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import checkout as checkout_bench
from harness import SECRET_KEY, free_port, percentile, process_cpu, reset_database, start_server
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu import handlers
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings, install
from siyu.coupons import issuing
from siyu.members import points
from siyu.models.base import new_public_id
from siyu.models.coupon import (
    Coupon,
    CouponKind,
    CouponSource,
    CouponTally,
    CouponTemplate,
    TemplateStatus,
    ValidityKind,
)
from siyu.models.customer import Customer
from siyu.orders import checkout

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/siyu_bench"
CLAIM_GOAL = 2000
CHECKOUT_GOAL = 800
SELL_OUT_QUANTITY = 5000
SELL_OUT_CLAIMS = 10_000
SELL_OUT_PER_CUSTOMER = 3
STARTING_POINTS = 1_000_000
POINTS_PER_ORDER = 300  # ¥3 at the default 100 points per yuan

# Rotates through a file of "token<TAB>body" lines, one request each; prints the
# summary as one JSON line for this script to read.
WRK_SCRIPT = """
local lines = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do
  local tab = line:find("\\t")
  lines[#lines + 1] = {line:sub(1, tab - 1), line:sub(tab + 1)}
end
-- A later slice of the same phase goes on where the last one stopped.
local next_line = tonumber(os.getenv("BENCH_OFFSET") or "0")
local path = os.getenv("BENCH_PATH")
request = function()
  next_line = next_line % #lines + 1
  local item = lines[next_line]
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-Siyu-Customer-Token"] = item[1],
  }, item[2])
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "non_2xx": %d, "errors": %d, ' ..
    '"p50_ms": %.2f, "p99_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass(frozen=True)
class Shop:
    sku_ids: list[int]
    tokens: list[str]
    customer_ids: list[int]


def make_template(
    session: Session, name: str, *, kind: CouponKind, discount: int, **fields: object
) -> CouponTemplate:
    template = CouponTemplate(
        public_id=new_public_id("cpt"),
        name=name,
        kind=kind,
        discount_amount=discount,
        validity=ValidityKind.RELATIVE,
        valid_days=30,
        in_coupon_centre=True,
        status=TemplateStatus.ACTIVE,
        **fields,
    )
    session.add(template)
    session.flush()
    return template


def seed(factory: sessionmaker[Session], customers: int) -> Shop:
    sku_ids, tokens = checkout_bench.seed(factory, customers)
    with transaction(factory) as session:
        customer_ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
        for customer_id in customer_ids:
            points.earn(session, customer_id, STARTING_POINTS, reference="bench", reason="bench")
    return Shop(sku_ids, tokens, customer_ids)


def claims_in_process(factory: sessionmaker[Session], shop: Shop, count: int) -> list[float]:
    with transaction(factory) as session:
        template = make_template(
            session, "service claims", kind=CouponKind.NO_THRESHOLD, discount=500
        )
    latencies = []
    for n in range(count):
        begin = time.perf_counter()
        with transaction(factory) as session:
            issuing.claim(
                session,
                template.public_id,
                shop.customer_ids[n % len(shop.customer_ids)],
                via_link=False,
            )
        latencies.append(time.perf_counter() - begin)
    return latencies


def grant_checkout_coupons(
    factory: sessionmaker[Session], shop: Shop, count: int
) -> list[tuple[int, str]]:
    """``count`` no-threshold coupons (¥5 off), spread over the shoppers."""
    with transaction(factory) as session:
        template = make_template(
            session, "checkout coupons", kind=CouponKind.NO_THRESHOLD, discount=500
        )
        granted = []
        for n in range(count):
            index = n % len(shop.customer_ids)
            coupon = issuing.issue(
                session,
                template.id,
                shop.customer_ids[index],
                source=CouponSource.GRANT,
                enforce_customer_limits=False,
            )
            granted.append((index, coupon.code))
    return granted


def order_items(chooser: random.Random, sku_ids: list[int]) -> list[dict[str, int]]:
    return [
        {"sku_id": sku, "quantity": chooser.randint(1, 2)}
        for sku in chooser.sample(sku_ids, chooser.randint(1, 3))
    ]


def order_body(chooser: random.Random, sku_ids: list[int], code: str) -> dict[str, object]:
    return {
        "items": order_items(chooser, sku_ids),
        "address": checkout_bench.ADDRESS,
        "coupon_code": code,
        "points": POINTS_PER_ORDER,
    }


def checkouts_in_process(
    factory: sessionmaker[Session], settings: Settings, shop: Shop, count: int
) -> list[float]:
    cipher = PiiCipher(SECRET_KEY)
    chooser = random.Random(11)
    latencies = []
    for index, code in grant_checkout_coupons(factory, shop, count):
        request = checkout.CheckoutInput(
            items=[
                checkout.ItemInput(item["sku_id"], item["quantity"])
                for item in order_items(chooser, shop.sku_ids)
            ],
            address=dict(checkout_bench.ADDRESS),
            options={"coupon_code": code, "points": POINTS_PER_ORDER},
        )
        begin = time.perf_counter()
        with transaction(factory) as session:
            order, _ = checkout.place_order(
                session, cipher, shop.customer_ids[index], request, settings
            )
            assert order.discount_amount >= 500 + POINTS_PER_ORDER // 100
        latencies.append(time.perf_counter() - begin)
    return latencies


def run_wrk(
    base: str,
    path: str,
    lines: list[tuple[str, str]],
    *,
    seconds: float,
    connections: int,
    work_dir: Path,
    offset: int = 0,
) -> dict[str, float]:
    requests_file = work_dir / "requests.tsv"
    script = work_dir / "bench.lua"
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{round(seconds)}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        base + path,
    ]
    environment = {
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_PATH": path,
        "BENCH_OFFSET": str(offset % len(lines)),
        "PATH": "/usr/bin",
    }
    output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    summary: dict[str, float] = json.loads(output.stdout.strip().splitlines()[-1])
    return summary


def http_phase(
    url: str,
    data_dir: Path,
    label: str,
    path: str,
    lines: list[tuple[str, str]],
    *,
    seconds: float,
    connections: int,
    min_requests: int = 0,
) -> dict[str, float]:
    """Drive one fresh server with ``lines`` for ``seconds``; with ``min_requests``, go
    on in further slices (each sized from the rate so far) until that many answers."""
    (data_dir / "requests.tsv").write_text("".join(f"{token}\t{body}\n" for token, body in lines))
    (data_dir / "bench.lua").write_text(WRK_SCRIPT)
    port = free_port()
    server = start_server(url, data_dir, port)
    totals = {"requests": 0.0, "seconds": 0.0, "non_2xx": 0.0, "errors": 0.0}
    p50s, p99s = [], []
    try:
        before = process_cpu(server.pid)
        slice_seconds = seconds
        while True:
            result = run_wrk(
                f"http://127.0.0.1:{port}",
                path,
                lines,
                seconds=slice_seconds,
                connections=connections,
                work_dir=data_dir,
                offset=int(totals["requests"]),
            )
            for key in totals:
                totals[key] += result[key]
            p50s.append(result["p50_ms"])
            p99s.append(result["p99_ms"])
            missing = min_requests - totals["requests"]
            if missing <= 0:
                break
            rate = totals["requests"] / totals["seconds"]
            # Short slices: refusals after a sell-out are faster than claims, so a
            # long slice sized on the claims' rate would overshoot by thousands.
            slice_seconds = max(1, min(2, math.ceil(missing / rate)))
        server_cores = (process_cpu(server.pid) - before) / totals["seconds"]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    ok = totals["requests"] - totals["non_2xx"] - totals["errors"]
    summary = {
        **totals,
        # Slices are a few at most; their median and worst p99 bound the whole run's.
        "p50_ms": max(p50s),
        "p99_ms": max(p99s),
        "server_cores": server_cores,
        "ok_per_second": ok / totals["seconds"],
    }
    print(
        f"  HTTP {label}: {summary['ok_per_second']:,.0f}/s succeeded, "
        f"{summary['requests'] / summary['seconds']:,.0f}/s answered "
        f"({summary['requests']:,.0f} requests, {summary['non_2xx']:,.0f} refused, "
        f"{summary['errors']:,.0f} errors) with {connections} connections; "
        f"p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms; "
        f"server {summary['server_cores']:.2f} cores"
    )
    return summary


def sell_out(url: str, data_dir: Path, factory: sessionmaker[Session], shop: Shop) -> None:
    with transaction(factory) as session:
        template = make_template(
            session,
            "sell-out",
            kind=CouponKind.NO_THRESHOLD,
            discount=1000,
            total_quantity=SELL_OUT_QUANTITY,
            per_customer_limit=SELL_OUT_PER_CUSTOMER,
        )
    body = json.dumps({"template_id": template.public_id})
    lines = [(shop.tokens[n % len(shop.tokens)], body) for n in range(SELL_OUT_CLAIMS)]
    # wrk runs for a duration, not a count: slices go on until 10,000 claims were
    # answered (a few more may be sent, and are refused once the coupon is gone); the
    # check below is on the database, not on wrk.
    result = http_phase(
        url,
        data_dir,
        "sell-out burst",
        "/api/shop/v1/coupons/claim",
        lines,
        seconds=5,
        connections=64,
        min_requests=SELL_OUT_CLAIMS,
    )
    with transaction(factory) as session:
        issued = session.scalar(
            select(func.count()).select_from(Coupon).where(Coupon.template_id == template.id)
        )
        most = session.scalar(
            select(func.max(CouponTally.claimed_total)).where(
                CouponTally.template_id == template.id
            )
        )
        counter = session.get(CouponTemplate, template.id)
        assert counter is not None
    verdict = "OK" if issued == SELL_OUT_QUANTITY == counter.issued_count else "WRONG"
    print(
        f"    sell-out check: {issued:,} coupons issued of {SELL_OUT_QUANTITY:,} "
        f"(counter {counter.issued_count:,}), at most {most} per customer "
        f"(limit {SELL_OUT_PER_CUSTOMER}) after {result['requests']:,.0f} claims: {verdict}"
    )


def run(url: str, arguments: argparse.Namespace) -> None:
    print(f"\n== {url.split('@')[-1]}")
    reset_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with tempfile.TemporaryDirectory() as temporary:
        data_dir = Path(temporary)
        settings = Settings(
            database_url=url, secret_key=SECRET_KEY, data_dir=data_dir, run_worker=False
        )
        install(settings)
        shop = seed(factory, arguments.customers)

        claims = claims_in_process(factory, shop, arguments.service_requests)
        claim_rate = len(claims) / sum(claims)
        print(
            f"  service layer claims: {claim_rate:,.0f}/s; p50 "
            f"{percentile(claims, 0.5) * 1000:.2f} ms, p99 {percentile(claims, 0.99) * 1000:.2f} ms"
        )
        orders = checkouts_in_process(factory, settings, shop, arguments.service_requests)
        order_rate = len(orders) / sum(orders)
        print(
            f"  service layer checkouts (coupon + points): {order_rate:,.0f}/s; p50 "
            f"{percentile(orders, 0.5) * 1000:.2f} ms, p99 {percentile(orders, 0.99) * 1000:.2f} ms"
        )

        with transaction(factory) as session:
            template = make_template(
                session, "claim burst", kind=CouponKind.NO_THRESHOLD, discount=500
            )
        body = json.dumps({"template_id": template.public_id})
        claimed = http_phase(
            url,
            data_dir,
            "claims",
            "/api/shop/v1/coupons/claim",
            [(token, body) for token in shop.tokens],
            seconds=arguments.seconds,
            connections=arguments.connections,
        )
        print(
            f"    ratio to goal {CLAIM_GOAL}/s: {claimed['ok_per_second'] / CLAIM_GOAL:.2f}; "
            f"HTTP / service layer: {claimed['ok_per_second'] / claim_rate:.2f}"
        )

        sell_out(url, data_dir, factory, shop)

        chooser = random.Random(5)
        granted = grant_checkout_coupons(factory, shop, arguments.checkout_coupons)
        lines = [
            (shop.tokens[index], json.dumps(order_body(chooser, shop.sku_ids, code)))
            for index, code in granted
        ]
        checked_out = http_phase(
            url,
            data_dir,
            "checkouts (coupon + points)",
            "/api/shop/v1/orders",
            lines,
            seconds=arguments.seconds,
            connections=arguments.connections,
        )
        print(
            f"    ratio to goal {CHECKOUT_GOAL}/s: "
            f"{checked_out['ok_per_second'] / CHECKOUT_GOAL:.2f}; "
            f"HTTP / service layer: {checked_out['ok_per_second'] / order_rate:.2f}"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", action="append")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--service-requests", type=int, default=1000)
    parser.add_argument("--checkout-coupons", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the HTTP load: apt-get install wrk")
    clock.install(clock.SystemClock())
    handlers.load_all()
    with tempfile.TemporaryDirectory() as directory:
        urls = arguments.database_url or [f"sqlite:///{directory}/bench.db", POSTGRES_URL]
        for url in urls:
            run(url, arguments)


if __name__ == "__main__":
    main()
