"""Many simultaneous identify calls with overlapping identifiers end with one customer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import transaction
from siyu.customers.identify import IdentityInput, identify, link_staff, resolve_batch
from siyu.models.customer import (
    Customer,
    CustomerIdentity,
    CustomerStaffLink,
    CustomerStatus,
)
from siyu.models.staff import Role
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff

cipher = make_cipher()
KEYS = [
    IdentityInput("unionid", "u-race"),
    IdentityInput("oa_openid", "o-race", "wx1"),
    IdentityInput("mp_openid", "m-race", "wx2"),
    IdentityInput("wecom_external_userid", "w-race", "ww1"),
    IdentityInput("phone", "13712345678"),
    IdentityInput("member_no", "vip-race"),
    IdentityInput("external", "t-race", "tmall"),
    IdentityInput("anonymous_id", "a-race"),
]
THREADS = 8


def _run_all(calls: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], None]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_overlapping_identify_calls_end_with_one_customer(
    session_factory: sessionmaker[Session],
) -> None:
    def call(index: int) -> Callable[[], None]:
        pair = [KEYS[index % len(KEYS)], KEYS[(index + 1) % len(KEYS)]]

        def run() -> None:
            with transaction(session_factory) as session:
                identify(session, cipher, None, pair, None, source=f"thread-{index}")

        return run

    for _round in range(2):
        assert _run_all([call(index) for index in range(THREADS)]) == []
    with transaction(session_factory) as session:
        live = session.scalars(
            select(Customer.id).where(Customer.status == CustomerStatus.ACTIVE)
        ).all()
        assert len(live) == 1
        owners = session.execute(select(CustomerIdentity.customer_id)).scalars().all()
        assert owners == [live[0]] * len(KEYS)  # no duplicate row, none lost
        merged_into = session.scalars(
            select(Customer.merged_into_id).where(Customer.status == CustomerStatus.MERGED)
        ).all()
        assert set(merged_into) <= {live[0]}


def test_concurrent_batches_create_each_key_once(session_factory: sessionmaker[Session]) -> None:
    sets = [[IdentityInput("anonymous_id", f"batch-{n}")] for n in range(50)]
    results: list[list[int]] = []

    def run() -> None:
        with transaction(session_factory) as session:
            resolved = resolve_batch(session, cipher, sets, source="race")
            results.append([item.customer_id for item in resolved])

    assert _run_all([run for _ in range(4)]) == []
    assert len(results) == 4
    assert all(result == results[0] for result in results)
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(CustomerIdentity)) == 50
        # Customers made by a batch that lost a key race were removed again.
        assert session.scalar(select(func.count()).select_from(Customer)) == 50


def test_concurrent_wecom_adds_of_one_pair_make_one_link(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as setup:
        staff_id = make_staff(setup, roles=[Role.GUIDE]).id
        customer_id = make_customer(
            setup, make_cipher(), identities=[IdentityInput("unionid", "u-pair")]
        ).id
    moment = clock.now()

    def add(offset: int) -> Callable[[], None]:
        def call() -> None:
            with transaction(session_factory) as session:
                link_staff(
                    session,
                    customer_id,
                    staff_id,
                    corp_id="corp",
                    external_userid="wm-pair",
                    state=f"code{offset}",
                    added_at=moment + timedelta(seconds=offset),
                )

        return call

    assert _run_all([add(offset) for offset in range(8)]) == []
    with session_factory() as session:
        links = session.scalars(select(CustomerStaffLink)).all()
    assert len(links) == 1
    # The earliest add wins, whichever thread got there first.
    assert (links[0].added_at, links[0].state) == (moment, "code0")
