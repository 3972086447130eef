"""Racing claims and racing checkouts, committed for real on SQLite and PostgreSQL.

10,000 claims on a template of 5,000 with a per-customer limit of 3: 2,500 customers
each try 4 times, 8 threads, one transaction per claim (like ``tests/orders``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.coupons import issuing
from siyu.models.coupon import (
    Coupon,
    CouponKind,
    CouponSource,
    CouponStatus,
    CouponTally,
    CouponTemplate,
)
from siyu.models.customer import Customer
from siyu.models.order import Order
from tests.coupons.factories import buy, give, make_template
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import make_shelf

CUSTOMERS = 2_500
TRIES_EACH = 4
QUANTITY = 5_000
PER_CUSTOMER = 3
THREADS = 8


def test_ten_thousand_racing_claims_issue_exactly_the_quantity(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    now = clock.now()
    with transaction(session_factory) as session:
        template = make_template(session, total_quantity=QUANTITY, per_customer_limit=PER_CUSTOMER)
        template_id = template.id
        session.execute(
            insert(Customer),
            [{"consent": {}, "created_at": now, "updated_at": now} for _ in range(CUSTOMERS)],
        )
        customer_ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    claims = [customer_id for customer_id in customer_ids for _ in range(TRIES_EACH)]

    def claim(customer_id: int) -> str:
        try:
            with transaction(session_factory) as session:
                issuing.issue(session, template_id, customer_id, source=CouponSource.CLAIM)
            return "issued"
        except SiyuError as error:
            return error.code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = Counter(pool.map(claim, claims))
    elapsed = time.perf_counter() - started
    print(f"{len(claims)} claims in {elapsed:.1f} s ({len(claims) / elapsed:.0f}/s)")  # noqa: T201
    assert outcomes["issued"] == QUANTITY
    assert outcomes["issued"] + outcomes["coupon.exhausted"] + outcomes[
        "coupon.limit_reached"
    ] == len(claims)
    with transaction(session_factory) as session:
        assert session.get_one(CouponTemplate, template_id).issued_count == QUANTITY
        assert session.scalar(select(func.count()).select_from(Coupon)) == QUANTITY
        per_customer = session.execute(
            select(Coupon.customer_id, func.count()).group_by(Coupon.customer_id)
        ).all()
        assert max(count for _, count in per_customer) <= PER_CUSTOMER
        tallies = dict(
            session.execute(select(CouponTally.customer_id, CouponTally.claimed_total)).all()
        )
        # Every tally matches the coupons its customer holds.
        assert {cid: n for cid, n in tallies.items() if n} == dict(per_customer)


def test_one_coupon_used_by_two_racing_checkouts_is_redeemed_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cipher = make_cipher()
    with transaction(session_factory) as session:
        shelf = make_shelf(session)
        customer_id = make_customer(session, cipher).id
        template = make_template(
            session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=1000
        )
        code = give(session, template, customer_id).code
        sku_id = shelf.skus[0].id
    racers = 6
    barrier = threading.Barrier(racers)

    def checkout(_: int) -> str:
        barrier.wait()
        try:
            with transaction(session_factory) as session:
                buy(
                    session,
                    cipher,
                    settings,
                    customer_id=customer_id,
                    items=[(sku_id, 1)],
                    coupon_code=code,
                )
            return "ordered"
        except SiyuError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes = Counter(pool.map(checkout, range(racers)))
    assert outcomes == {"ordered": 1, "coupon.already_used": racers - 1}
    with transaction(session_factory) as session:
        orders = session.scalars(select(Order)).all()
        assert len(orders) == 1
        assert orders[0].discount_amount == 1000
        coupon = session.scalars(select(Coupon).where(Coupon.code == code)).one()
        assert (coupon.status, coupon.order_id, coupon.discount_amount) == (
            CouponStatus.USED,
            orders[0].id,
            1000,
        )
