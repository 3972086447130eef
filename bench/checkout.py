"""Checkout throughput: create + pay orders end to end, on SQLite and PostgreSQL.

Two figures per database:

- **service**: the orders service without HTTP — ``checkout.place_order`` in one
  transaction, then ``payments.open_payment`` + the sandbox notification applied in a
  second, one order at a time in this process;
- **HTTP**: one ``siyu serve`` process (uvicorn, with its in-process worker, as
  deployed) driven by concurrent shoppers. Each order is the storefront's three calls:
  ``POST /api/shop/v1/orders``, ``POST …/pay``, ``POST /api/shop/v1/payments/sandbox/…/confirm``.
  The load generator runs in separate processes on the same 2-core machine, so it
  takes CPU from the server; its share is printed.

The issue's goal is >= 1,000 orders/s through HTTP; the peer figure is mall4j's
~1,110 orders/s on a 4-core server (a Java mall). Ratios to both are printed, and the
ratio of HTTP to the service layer measured here in the same run.

    .venv/bin/python bench/checkout.py --orders 3000
    .venv/bin/python bench/checkout.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/siyu_bench
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import signal
import tempfile
import time
from pathlib import Path

import httpx
from harness import (
    SECRET_KEY,
    free_port,
    percentile,
    process_cpu,
    reset_database,
    start_server,
)
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from siyu.catalog import stock
from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings, install
from siyu.customers import sessions
from siyu.models.catalog import Product, ProductStatus, Sku
from siyu.models.customer import Customer
from siyu.models.location import Location, LocationKind
from siyu.orders import checkout
from siyu.orders.payments import service as payment_service
from siyu.orders.payments.sandbox import SandboxProvider

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/siyu_bench"
GOAL = 1000
PEER_MALL4J = 1110
SKUS = 50
ADDRESS = {
    "recipient": "张三",
    "phone": "13812345678",
    "region": "上海市 徐汇区",
    "detail": "漕溪北路 1 号",
}


def seed(factory: sessionmaker[Session], customers: int) -> tuple[list[int], list[str]]:
    """A warehouse with deep stock of SKUS SKUs, and customers with session tokens."""
    with transaction(factory) as session:
        warehouse = Location(
            code="WH1",
            name="华东仓",
            kind=LocationKind.WAREHOUSE,
            ships_online=True,
            accepts_pickup=False,
        )
        product = Product(
            code="P1", name="丝绒口红", status=ProductStatus.ON_SALE, spec_names=["色号"]
        )
        session.add_all([warehouse, product])
        session.flush()
        skus = [
            Sku(
                product_id=product.id,
                code=f"S{n}",
                specs={"色号": str(n)},
                list_price=15900,
                sale_price=3900 + 100 * n,
            )
            for n in range(SKUS)
        ]
        session.add_all(skus)
        session.flush()
        stock.receive(
            session, [stock.StockItem(sku.id, warehouse.id, 10**8) for sku in skus], actor="bench"
        )
        people = [Customer(consent={}) for _ in range(customers)]
        session.add_all(people)
        session.flush()
        tokens = [
            sessions.create_session(session, customer_id=person.id, touchpoint="mp")[0]
            for person in people
        ]
        return [sku.id for sku in skus], tokens


def bench_service(
    factory: sessionmaker[Session], settings: Settings, sku_ids: list[int], orders: int
) -> tuple[float, list[float]]:
    cipher = PiiCipher(SECRET_KEY)
    sandbox = SandboxProvider(SECRET_KEY)
    with transaction(factory) as session:
        customer_ids = [row[0] for row in session.execute(text("SELECT id FROM customer"))]
    chooser = random.Random(7)
    latencies = []
    started = time.perf_counter()
    for n in range(orders):
        begin = time.perf_counter()
        items = [
            checkout.ItemInput(sku, chooser.randint(1, 2))
            for sku in chooser.sample(sku_ids, chooser.randint(1, 3))
        ]
        request = checkout.CheckoutInput(
            items=items, address=dict(ADDRESS), attribution=checkout.Attribution(touchpoint="mp")
        )
        with transaction(factory) as session:
            order, _ = checkout.place_order(
                session, cipher, customer_ids[n % len(customer_ids)], request, settings
            )
        with transaction(factory) as session:
            session.add(order)
            pending = payment_service.open_payment(
                session, order, provider="sandbox", settings=settings
            )
            headers, body = sandbox.notification(
                out_trade_no=pending.request.out_trade_no, amount=pending.request.amount
            )
            payment_service.apply_notice(session, sandbox.parse_notification(headers, body))
        latencies.append(time.perf_counter() - begin)
    return orders / (time.perf_counter() - started), latencies


async def shopper_loop(
    base: str, tokens: list[str], sku_ids: list[int], orders: int, concurrency: int, seed_value: int
) -> list[float]:
    chooser = random.Random(seed_value)
    latencies: list[float] = []
    remaining = orders
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def one_shopper(token: str) -> None:
            nonlocal remaining
            headers = {sessions.TOKEN_HEADER: token}
            while remaining > 0:
                remaining -= 1
                items = [
                    {"sku_id": sku, "quantity": chooser.randint(1, 2)}
                    for sku in chooser.sample(sku_ids, chooser.randint(1, 3))
                ]
                begin = time.perf_counter()
                created = await client.post(
                    "/api/shop/v1/orders",
                    json={"items": items, "address": ADDRESS},
                    headers=headers,
                )
                created.raise_for_status()
                public_id = created.json()["public_id"]
                paying = await client.post(
                    f"/api/shop/v1/orders/{public_id}/pay", json={}, headers=headers
                )
                paying.raise_for_status()
                payment_id = paying.json()["payment_id"]
                paid = await client.post(
                    f"/api/shop/v1/payments/sandbox/{payment_id}/confirm", headers=headers
                )
                paid.raise_for_status()
                assert paid.json()["order_status"] == "paid"
                latencies.append(time.perf_counter() - begin)

        await asyncio.gather(*(one_shopper(tokens[n % len(tokens)]) for n in range(concurrency)))
    return latencies


def client_process(
    base: str,
    tokens: list[str],
    sku_ids: list[int],
    orders: int,
    concurrency: int,
    seed_value: int,
    queue: multiprocessing.Queue,
) -> None:  # type: ignore[type-arg]
    latencies = asyncio.run(shopper_loop(base, tokens, sku_ids, orders, concurrency, seed_value))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((latencies, usage.ru_utime + usage.ru_stime))


def bench_http(
    url: str,
    data_dir: Path,
    tokens: list[str],
    sku_ids: list[int],
    orders: int,
    concurrency: int,
    clients: int,
) -> tuple[float, list[float], float, float]:
    port = free_port()
    server = start_server(url, data_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        server_cpu_before = process_cpu(server.pid)
        queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        share = orders // clients
        processes = [
            multiprocessing.Process(
                target=client_process,
                args=(base, tokens[n::clients], sku_ids, share, concurrency // clients, n, queue),
            )
            for n in range(clients)
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        results = [queue.get() for _ in processes]
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join()
        server_cpu = process_cpu(server.pid) - server_cpu_before
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    latencies = [value for result in results for value in result[0]]
    client_cpu = sum(result[1] for result in results)
    return len(latencies) / elapsed, latencies, server_cpu / elapsed, client_cpu / elapsed


def run(url: str, arguments: argparse.Namespace) -> None:
    print(f"\n== {url.split('@')[-1]}")
    reset_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            database_url=url, secret_key=SECRET_KEY, data_dir=Path(data_dir), run_worker=False
        )
        install(settings)
        sku_ids, tokens = seed(factory, arguments.customers)
        rate, latencies = bench_service(factory, settings, sku_ids, arguments.service_orders)
        p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
        print(
            f"service layer: {rate:,.0f} orders/s (create + pay, one at a time); "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        )
        engine.dispose()
        http_rate, http_latencies, server_cpu, client_cpu = bench_http(
            url,
            Path(data_dir),
            tokens,
            sku_ids,
            arguments.orders,
            arguments.concurrency,
            arguments.clients,
        )
        p50, p99 = percentile(http_latencies, 0.5) * 1000, percentile(http_latencies, 0.99) * 1000
        print(
            f"HTTP, one server process: {http_rate:,.0f} orders/s "
            f"({3 * http_rate:,.0f} requests/s) with {arguments.concurrency} concurrent "
            f"shoppers; per order (3 calls) p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
        print(f"  CPU: server {server_cpu:.2f} cores, load generator {client_cpu:.2f} cores (of 2)")
        print(
            f"  ratio to goal {GOAL}/s: {http_rate / GOAL:.2f}; to mall4j {PEER_MALL4J}/s "
            f"(4 cores): {http_rate / PEER_MALL4J:.2f}; "
            f"HTTP / service layer: {http_rate / rate:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        action="append",
        help="default: a temp SQLite file and siyu_bench on PostgreSQL",
    )
    parser.add_argument("--orders", type=int, default=3000, help="orders through HTTP")
    parser.add_argument("--service-orders", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    arguments = parser.parse_args()
    urls = arguments.database_url
    if not urls:
        temp = Path(tempfile.mkdtemp()) / "checkout.db"
        urls = [f"sqlite:///{temp}", POSTGRES_URL]
    for url in urls:
        run(url, arguments)


if __name__ == "__main__":
    main()
