"""A burst of storefront requests larger than the default threadpool (40 threads) on
the embedded SQLite: every request succeeds, none waits out the busy timeout.

Each request holds the SQLite writer lock from its first query (the session token)
to its commit, which runs in a later threadpool hop. With fewer threads than requests
in flight, the waiting requests could take every thread while the lock holder waited
for one to commit; the app sizes the threadpool above the request limit (decision
0006). This test fails (500s after a long wait) without that.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from siyu.app import create_app
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.customers import sessions
from tests.customers.factories import TEST_SECRET_KEY, make_cipher, make_customer
from tests.live import serve
from tests.orders.factories import make_shelf

BURST = 120


def test_a_burst_beyond_the_threadpool_all_succeeds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'burst.db'}"
    upgrade(url)
    engine = make_engine(url)
    cipher = make_cipher()
    with transaction(make_session_factory(engine)) as session:
        sku_id = make_shelf(session).skus[0].id
        tokens = []
        for _ in range(BURST):
            customer = make_customer(session, cipher)
            tokens.append(
                sessions.create_session(session, customer_id=customer.id, touchpoint="mp")[0]
            )
    engine.dispose()
    settings = Settings(
        database_url=url, data_dir=tmp_path, secret_key=TEST_SECRET_KEY, run_worker=False
    )
    with serve(create_app(settings)) as base, httpx.Client(base_url=base, timeout=60) as client:

        def add_to_cart(token: str) -> int:
            response = client.post(
                "/api/shop/v1/cart/items",
                json={"sku_id": sku_id, "quantity": 1},
                headers={sessions.TOKEN_HEADER: token},
            )
            return response.status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            statuses = list(pool.map(add_to_cart, tokens))
        elapsed = time.monotonic() - started
    assert statuses == [200] * BURST
    # Far below the 30 s busy timeout that a convoy would have to wait out.
    assert elapsed < 20
