"""The group-commit claim writer (``claim_writer``) driven directly, on both engines:
one batch mixing every outcome refuses as ``issuing.issue`` would and leaves no
trace of its refusals; a crowd never over-issues; a claim the database rejects
(a duplicate code) is refused alone while the rest of its batch is issued."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.group_commit import GroupCommitQueue
from siyu.coupons import issuing
from siyu.coupons.claim_sql import ClaimRow
from siyu.coupons.claim_writer import ClaimWriter
from siyu.coupons.claiming import claim_row
from siyu.coupons.errors import ClaimUnavailable, Exhausted, LimitReached, NotClaimable
from siyu.customers.errors import CustomerNotFound
from siyu.models.coupon import (
    Coupon,
    CouponTally,
    CouponTemplate,
    TemplateStatus,
)
from siyu.models.customer import Customer, CustomerStatus
from tests.coupons.factories import events_named, give, make_template

pytestmark = pytest.mark.usefixtures("settings")  # shop_today reads the installed settings


def _row(template: CouponTemplate, customer_id: int, *, code: str | None = None) -> ClaimRow:
    """As ``claiming.claim`` builds it from the (cached) template."""
    row = claim_row(template, customer_id, clock.now())
    return row if code is None else dataclasses.replace(row, code=code)


def _customers(session: Session, count: int) -> list[int]:
    now = clock.now()
    session.execute(
        insert(Customer),
        [{"consent": {}, "created_at": now, "updated_at": now} for _ in range(count)],
    )
    return sorted(session.scalars(select(Customer.id).order_by(Customer.id.desc()).limit(count)))


def _one_batch(writer: ClaimWriter, rows: list[ClaimRow]) -> list[Future[int]]:
    """Queue every claim before the writer thread starts, so they share one batch."""
    start = writer.start
    writer.start = lambda: None  # type: ignore[method-assign]
    try:
        futures = [writer.submit(row) for row in rows]
    finally:
        writer.start = start  # type: ignore[method-assign]
    GroupCommitQueue.start(writer)
    return futures


def _outcome(future: Future[int]) -> Any:
    error = future.exception(timeout=30)
    return type(error) if error is not None else future.result()


def _tallies(session: Session, template_id: int) -> dict[int, tuple[int, int]]:
    return {
        tally.customer_id: (tally.claimed_total, tally.claimed_on_day)
        for tally in session.scalars(
            select(CouponTally).where(CouponTally.template_id == template_id)
        )
    }


def _issued(session: Session) -> list[tuple[int, int, str]]:
    return [
        (coupon.template_id, coupon.customer_id, coupon.code)
        for coupon in session.scalars(select(Coupon).order_by(Coupon.id))
    ]


def test_one_batch_refuses_as_issuing_does_and_leaves_no_trace_of_refusals(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        once = make_template(session, per_customer_limit=1)
        scarce = make_template(session, total_quantity=2, per_day_limit=3)
        paused = make_template(session)
        first, second, third, fourth, gone = _customers(session, 5)
        # The cache may still hold these as active and live: the writer must see the rows.
        rows = [
            _row(once, first),
            _row(once, first),  # over per_customer_limit within the batch
            _row(scarce, second),
            _row(scarce, third),
            _row(scarce, fourth),  # the total ran out two claims ago
            _row(paused, second),
            _row(once, gone),
            _row(once, third),
        ]
        paused.status = TemplateStatus.PAUSED.value
        customer = session.get(Customer, gone)
        assert customer is not None
        customer.status = CustomerStatus.ERASED.value
        ids = {"once": once.id, "scarce": scarce.id, "paused": paused.id}
    writer = ClaimWriter(session_factory)
    try:
        futures = _one_batch(writer, rows)
        outcomes = [_outcome(future) for future in futures]
    finally:
        writer.stop()
    assert writer.batches == 1
    issued = [outcomes[index] for index in (0, 2, 3, 7)]
    assert all(type(coupon_id) is int for coupon_id in issued)
    assert [outcomes[index] for index in (1, 4, 5, 6)] == [
        LimitReached,
        Exhausted,
        NotClaimable,
        CustomerNotFound,
    ]
    assert futures[5].exception() is not None
    assert futures[5].exception().data == {  # type: ignore[union-attr]
        "template_id": ids["paused"],
        "reason": "inactive",
    }
    assert futures[1].exception().data == {  # type: ignore[union-attr]
        "template_id": ids["once"],
        "per_customer_limit": 1,
        "per_day_limit": None,
    }
    with transaction(session_factory) as session:
        assert _issued(session) == [
            (rows[index].template_id, rows[index].customer_id, rows[index].code)
            for index in (0, 2, 3, 7)
        ]
        assert [coupon.id for coupon in session.scalars(select(Coupon).order_by(Coupon.id))] == (
            issued
        )
        # Only the issued claims count: no bump, no zero row for the refused ones.
        assert _tallies(session, ids["once"]) == {first: (1, 1), third: (1, 1)}
        assert _tallies(session, ids["scarce"]) == {second: (1, 1), third: (1, 1)}
        assert _tallies(session, ids["paused"]) == {}
        counts = {
            label: session.get(CouponTemplate, template_id) for label, template_id in ids.items()
        }
        assert {label: row.issued_count for label, row in counts.items() if row} == {
            "once": 2,
            "scarce": 2,
            "paused": 0,
        }
        assert events_named(session, issuing.COUPON_ISSUED) == [
            {
                "coupon_id": coupon_id,
                "template_id": rows[index].template_id,
                "customer_id": rows[index].customer_id,
                "source": "claim",
                "valid_until": rows[index].valid_until.isoformat(),
            }
            for coupon_id, index in zip(issued, (0, 2, 3, 7), strict=True)
        ]


def test_a_crowd_never_over_issues(session_factory: sessionmaker[Session]) -> None:
    """600 claims from 200 customers, three lanes at once, for 250 coupons (2 each)."""
    with transaction(session_factory) as session:
        template = make_template(session, total_quantity=250, per_customer_limit=2)
        customers = _customers(session, 200)
        rows = [_row(template, customer) for customer in customers * 3]
        template_id = template.id
    writer = ClaimWriter(session_factory)
    futures: list[Future[int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    def lane(part: list[ClaimRow]) -> None:
        barrier.wait()
        for row in part:
            future = writer.submit(row)
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=lane, args=(rows[index::3],)) for index in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes = Counter(_outcome(future) for future in futures)
    finally:
        writer.stop()
    issued = sum(count for outcome, count in outcomes.items() if type(outcome) is int)
    assert issued == 250
    assert outcomes[Exhausted] + outcomes[LimitReached] == 350
    assert writer.batches < 600
    with transaction(session_factory) as session:
        row = session.get(CouponTemplate, template_id)
        assert row is not None
        assert row.issued_count == 250
        per_customer = Counter(customer for _template, customer, _code in _issued(session))
        assert sum(per_customer.values()) == 250
        assert max(per_customer.values()) <= 2
        tallies = _tallies(session, template_id)
        assert {customer: total for customer, (total, _day) in tallies.items()} == dict(
            per_customer
        )
        assert len(events_named(session, issuing.COUPON_ISSUED)) == 250


def test_a_claim_the_database_rejects_is_refused_alone(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with transaction(session_factory) as session:
        template = make_template(session, per_customer_limit=1)
        other = make_template(session)
        customers = _customers(session, 5)
        taken = give(session, other, customers[0]).code
        rows = [_row(template, customer) for customer in customers]
        # A code already in use: the unique index fails the batch's transaction.
        rows[2] = _row(template, customers[2], code=taken)
        template_id = template.id
    writer = ClaimWriter(session_factory)
    try:
        outcomes = [_outcome(future) for future in _one_batch(writer, rows)]
    finally:
        writer.stop()
    assert outcomes[2] is ClaimUnavailable
    assert all(type(outcome) is int for index, outcome in enumerate(outcomes) if index != 2)
    assert writer.batches == 1
    assert "one by one" in caplog.text
    with transaction(session_factory) as session:
        assert [customer for tid, customer, _code in _issued(session) if tid == template_id] == [
            customers[index] for index in (0, 1, 3, 4)
        ]
        assert set(_tallies(session, template_id)) == {customers[index] for index in (0, 1, 3, 4)}
        row = session.get(CouponTemplate, template_id)
        assert row is not None
        assert row.issued_count == 4
        assert len(events_named(session, issuing.COUPON_ISSUED)) == 5  # with give()'s
