"""Identify throughput on SQLite, and the batch resolver used by event ingest.

    .venv/bin/python bench/identify.py --calls 20000
    .venv/bin/python bench/identify.py --database-url sqlite:////tmp/identify.db

* identify: ``identify()`` with two identities (unionid + oa_openid) per call, one
  transaction per call as a request would, over ``--people`` distinct people (so
  the first calls create, the rest resolve). Baseline in the same process, same
  workload on a fresh database: the naive ORM way — one query per identity, ORM
  objects for every new customer and identity.
* batch: ``resolve_batch()`` on batches of 1,000 single-identity sets of which ~10 %
  are new keys; milliseconds per batch (one transaction per batch).

Goal (issue 3): identify >= 3,000 calls/s on SQLite.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, update  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from siyu.core import clock  # noqa: E402
from siyu.core.crypto import PiiCipher  # noqa: E402
from siyu.core.db import make_engine, make_session_factory, transaction  # noqa: E402
from siyu.core.migrations import upgrade  # noqa: E402
from siyu.customers.identify import IdentityInput, identify, resolve_batch  # noqa: E402
from siyu.customers.kinds import normalise  # noqa: E402
from siyu.models.customer import Customer, CustomerIdentity  # noqa: E402

SECRET = "bench-secret-" + "k" * 40
BATCH = 1_000


def workload(calls: int, people: int) -> list[list[IdentityInput]]:
    return [
        [
            IdentityInput("unionid", f"union-{n % people}"),
            IdentityInput("oa_openid", f"open-{n % people}", "wx_bench"),
        ]
        for n in range(calls)
    ]


def fresh_factory(url: str | None, label: str) -> sessionmaker[Session]:
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix=f'siyu-bench-{label}-')}/bench.db"
    upgrade(url)
    return make_session_factory(make_engine(url))


def naive_identify(session: Session, cipher: PiiCipher, items: list[IdentityInput]) -> int:
    """One SELECT per identity; ORM objects for anything new (no merge handling)."""
    owner: int | None = None
    missing = []
    for item in items:
        normalised = normalise(cipher, item.kind, item.value, item.namespace)
        row = session.scalars(
            select(CustomerIdentity).where(
                CustomerIdentity.kind == normalised.key.kind.value,
                CustomerIdentity.namespace == normalised.key.namespace,
                CustomerIdentity.lookup_key == normalised.key.lookup_key,
            )
        ).first()
        if row is None:
            missing.append(normalised)
        else:
            owner = row.customer_id
            row.last_seen_at = clock.now()
    if owner is None:
        customer = Customer(consent={})
        session.add(customer)
        session.flush()
        owner = customer.id
    now = clock.now()
    for normalised in missing:
        session.add(
            CustomerIdentity(
                customer_id=owner,
                kind=normalised.key.kind.value,
                namespace=normalised.key.namespace,
                lookup_key=normalised.key.lookup_key,
                value=normalised.value,
                encrypted_value=normalised.encrypted_value,
                created_at=now,
                last_seen_at=now,
            )
        )
    return owner


def timed(
    factory: sessionmaker[Session],
    calls: list[list[IdentityInput]],
    run: Callable[[Session, list[IdentityInput]], object],
) -> float:
    started = time.perf_counter()
    for items in calls:
        with transaction(factory) as session:
            run(session, items)
    return len(calls) / (time.perf_counter() - started)


def bench_identify(args: argparse.Namespace, cipher: PiiCipher) -> None:
    calls = workload(args.calls, args.people)
    fast = timed(
        fresh_factory(args.database_url, "fast"),
        calls,
        lambda session, items: identify(session, cipher, None, items, None, source="bench"),
    )
    naive = timed(
        fresh_factory(None, "naive"),
        calls,
        lambda session, items: naive_identify(session, cipher, items),
    )
    print(f"identify: {fast:,.0f} calls/s ({args.calls:,} calls, {args.people:,} people)")
    print(f"naive ORM baseline: {naive:,.0f} calls/s  ratio {fast / naive:.2f}x")


def bench_batch(args: argparse.Namespace, cipher: PiiCipher) -> None:
    factory = fresh_factory(None, "batch")
    known = 0
    timings: list[float] = []
    cpu_timings: list[float] = []
    for batch_number in range(args.batches):
        sets: list[list[IdentityInput]] = []
        for n in range(BATCH):
            if known and n % 10:
                key = f"anon-{(batch_number * 7919 + n) % known}"
            else:
                key = f"anon-{known + len(sets)}-{batch_number}"
            sets.append([IdentityInput("anonymous_id", key)])
        started, cpu_started = time.perf_counter(), time.process_time()
        with transaction(factory) as session:
            results = resolve_batch(session, cipher, sets, source="bench")
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
        if not known:
            # Rename the first batch's keys into a dense space the later batches reuse.
            with transaction(factory) as session:
                for index, item in enumerate(sets):
                    session.execute(
                        update(CustomerIdentity)
                        .where(CustomerIdentity.lookup_key == item[0].value)
                        .values(lookup_key=f"anon-{index}")
                    )
            known = BATCH
        assert len(results) == BATCH
    steady = sorted(timings[1:]) or timings
    median = steady[len(steady) // 2] * 1000
    cpu_steady = sorted(cpu_timings[1:]) or cpu_timings
    cpu_median = cpu_steady[len(cpu_steady) // 2] * 1000
    print(
        f"resolve_batch: median {median:.1f} ms wall, {cpu_median:.1f} ms CPU per batch of "
        f"{BATCH:,} (~10% new keys, {len(steady)} batches, one transaction each) "
        f"= {BATCH / (median / 1000):,.0f} sets/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    cipher = PiiCipher(SECRET)
    bench_identify(args, cipher)
    bench_batch(args, cipher)


if __name__ == "__main__":
    main()
