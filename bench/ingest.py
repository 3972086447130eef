"""Tracked-event ingest: service layer, HTTP, and memory as volume grows.

    .venv/bin/python bench/ingest.py service --events 200000
    .venv/bin/python bench/ingest.py http --events 200000 --clients 4
    .venv/bin/python bench/ingest.py memory --events 1000000

* service: ``events.service.ingest`` in batches of 1,000 on SQLite (a temp file), one
  transaction per batch as a request would; baseline in the same process: the naive
  way, ``session.add(TrackedEvent(...))`` per event after the same identity lookup.
* http: one uvicorn process (a subprocess) serving ``/api/v1/track``; a thread pool
  of httpx clients posts batches of 1,000; baseline: batches of 10 events.
* memory: ingest ``--events`` through the service layer in a subprocess and print
  its peak RSS; run it at two volumes to see that memory stays flat.

Identities: ``--customers`` distinct anonymous ids (default 10,000), so most events
belong to known customers, as on a live site; the first batches create them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi import FastAPI  # noqa: E402

from siyu.core import clock  # noqa: E402
from siyu.core.crypto import PiiCipher  # noqa: E402
from siyu.core.db import make_engine, make_session_factory, transaction  # noqa: E402
from siyu.core.migrations import upgrade  # noqa: E402

SECRET = "bench-secret-" + "k" * 40
BATCH = 1_000
TYPES = ("page_view", "product_view", "add_to_cart", "search", "share")


def make_batch(number: int, size: int, customers: int) -> list[dict[str, Any]]:
    now = clock.now()
    return [
        {
            "event_id": f"b{number}-{index}-{uuid.uuid4().hex[:12]}",
            "type": TYPES[index % len(TYPES)],
            "occurred_at": (now - timedelta(seconds=index)).isoformat(),
            "identities": [
                {"kind": "anonymous_id", "value": f"device-{(number * size + index) % customers}"}
            ],
            "context": {"touchpoint": "h5", "page": f"/p/{index % 50}"},
            "properties": {"sku_id": index % 300, "price_fen": 1990},
        }
        for index in range(size)
    ]


def fresh_sqlite(directory: Path, name: str) -> str:
    url = f"sqlite:///{directory / name}"
    upgrade(url)
    return url


def run_service(url: str, events: int, customers: int) -> float:
    from siyu.events import service

    factory = make_session_factory(make_engine(url))
    cipher = PiiCipher(SECRET)
    batches = [make_batch(number, BATCH, customers) for number in range(events // BATCH)]
    started = time.perf_counter()
    accepted = 0
    for batch in batches:
        with transaction(factory) as session:
            accepted += service.ingest(session, cipher, batch, source="bench").accepted
    elapsed = time.perf_counter() - started
    assert accepted == events, accepted
    return events / elapsed


def run_naive(url: str, events: int, customers: int) -> float:
    from siyu.customers import identify
    from siyu.models.tracking import TrackedEvent

    factory = make_session_factory(make_engine(url))
    cipher = PiiCipher(SECRET)
    batches = [make_batch(number, BATCH, customers) for number in range(events // BATCH)]
    started = time.perf_counter()
    for batch in batches:
        with transaction(factory) as session:
            for raw in batch:
                inputs = [identify.IdentityInput("anonymous_id", raw["identities"][0]["value"])]
                resolution = identify.resolve_batch(session, cipher, [inputs], source="bench")[0]
                context = dict(raw["context"])
                session.add(
                    TrackedEvent(
                        event_id=raw["event_id"],
                        customer_id=resolution.customer_id,
                        type=raw["type"],
                        occurred_at=datetime.fromisoformat(raw["occurred_at"]),
                        received_at=clock.now(),
                        touchpoint=context.pop("touchpoint"),
                        context=context,
                        properties=raw["properties"],
                    )
                )
    return events / (time.perf_counter() - started)


def bench_service(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        rate = run_service(fresh_sqlite(folder, "a.db"), args.events, args.customers)
        naive_events = max(BATCH, args.events // 10)
        naive = run_naive(fresh_sqlite(folder, "b.db"), naive_events, args.customers)
    print(f"service ingest (SQLite, batches of {BATCH}): {rate:,.0f} events/s")
    print(f"naive ORM add per event ({naive_events:,} events): {naive:,.0f} events/s")
    print(f"ratio: {rate / naive:.1f}x  (goal >= 100,000 events/s)")


def app_factory() -> FastAPI:
    """The app uvicorn serves in the http bench (tracking routers included if missing)."""
    from siyu.app import create_app
    from siyu.core.settings import Settings
    from siyu.events.api import router

    app = create_app(Settings(), start_worker=False)
    if "/api/v1/track" not in {getattr(route, "path", "") for route in app.router.routes}:
        app.include_router(router)
    return app


def _token(url: str) -> str:
    from siyu.staff import service as staff_service
    from siyu.staff import tokens
    from siyu.staff.principal import command_line_principal

    factory = make_session_factory(make_engine(url))
    with transaction(factory) as session:
        staff = staff_service.create_staff(
            session,
            command_line_principal(),
            username="bench",
            password="bench-password-1",
            roles=["integration"],
        )
        raw, _token = tokens.create_token(session, command_line_principal(), staff.id)
    return raw


def _post_all(base: str, token: str, bodies: list[bytes], clients: int) -> float:
    import httpx

    position = iter(range(len(bodies)))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=base, timeout=60) as http:
            while True:
                with lock:
                    index = next(position, None)
                if index is None:
                    return
                response = http.post("/api/v1/track", content=bodies[index], headers=headers)
                if response.status_code != 200 or response.json()["rejected"]:
                    failures.append(response.text[:200])

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} failed requests, first: {failures[0]}")
    return elapsed


def _serve(url: str, directory: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    environment = os.environ | {
        "SIYU_DATABASE_URL": url,
        "SIYU_SECRET_KEY": SECRET,
        "SIYU_DATA_DIR": str(directory),
        "SIYU_RUN_WORKER": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.ingest:app_factory"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=environment, cwd=Path(__file__).parent.parent)
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.2)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def bench_http(args: argparse.Namespace) -> None:
    import socket
    from contextlib import contextmanager

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    serve = contextmanager(_serve)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        url = fresh_sqlite(folder, "http.db")
        token = _token(url)
        big = [
            json.dumps({"events": make_batch(n, BATCH, args.customers)}).encode()
            for n in range(args.events // BATCH)
        ]
        small_count = max(10, args.events // 10 // 10)
        small = [
            json.dumps({"events": make_batch(100_000 + n, 10, args.customers)}).encode()
            for n in range(small_count)
        ]
        with serve(url, folder, port):
            base = f"http://127.0.0.1:{port}"
            # Warm-up: the first batches create the customers.
            _post_all(base, token, big[:5], 1)
            elapsed = _post_all(base, token, big[5:], args.clients)
            small_elapsed = _post_all(base, token, small, args.clients)
    rate = (len(big) - 5) * BATCH / elapsed
    small_rate = small_count * 10 / small_elapsed
    print(f"HTTP /api/v1/track, 1 uvicorn process, {args.clients} clients, batches of {BATCH}:")
    print(f"  {rate:,.0f} events/s ({(len(big) - 5) / elapsed:,.1f} requests/s)")
    print(f"baseline, batches of 10: {small_rate:,.0f} events/s")
    print(f"ratio: {rate / small_rate:.1f}x  (goal >= 20,000 events/s)")


def bench_memory(args: argparse.Namespace) -> None:
    """Child process: generate and ingest batch by batch; report peak RSS."""
    from siyu.events import service

    with tempfile.TemporaryDirectory() as directory:
        url = fresh_sqlite(Path(directory), "memory.db")
        factory = make_session_factory(make_engine(url))
        cipher = PiiCipher(SECRET)
        started = time.perf_counter()
        for number in range(args.events // BATCH):
            batch = make_batch(number, BATCH, args.customers)
            with transaction(factory) as session:
                service.ingest(session, cipher, batch, source="bench")
            if number in (99, 999, 2999, 9999) or number == args.events // BATCH - 1:
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                done = (number + 1) * BATCH
                rate = done / (time.perf_counter() - started)
                print(f"{done:>11,} events  peak RSS {peak:,.0f} MB  {rate:,.0f} events/s")
                sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["service", "http", "memory"])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    clock.install(clock.SystemClock())
    {"service": bench_service, "http": bench_http, "memory": bench_memory}[args.what](args)


if __name__ == "__main__":
    main()
