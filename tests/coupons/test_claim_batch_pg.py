"""The set-wise PostgreSQL batch (``claim_batch_pg``): rounds keep a customer's
second claim out of the statement that holds their first, and a batch whose
template another process counted meanwhile is not over-issued (the CHECK on the
total fails it, and the claims are written again one by one, each exact)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import transaction
from siyu.coupons.claim_batch_pg import rounds
from siyu.coupons.claim_writer import ClaimWriter
from siyu.coupons.errors import Exhausted, LimitReached
from siyu.models.coupon import Coupon, CouponTally, CouponTemplate
from tests.coupons.factories import make_template
from tests.coupons.test_claim_writer import _customers, _one_batch, _outcome, _row

pytestmark = pytest.mark.usefixtures("settings")


def test_rounds_hold_each_template_and_customer_once() -> None:
    class Row:
        def __init__(self, template_id: int, customer_id: int) -> None:
            self.template_id, self.customer_id = template_id, customer_id

    rows = [Row(1, 7), Row(1, 8), Row(1, 7), Row(2, 7), Row(1, 7), Row(1, 8)]
    assert rounds(rows) == [[0, 1, 3], [2, 5], [4]]  # type: ignore[arg-type]
    assert rounds([]) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_batch_racing_another_process_on_the_total_never_over_issues(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with transaction(session_factory) as session:
        template = make_template(session, total_quantity=5)
        customers = _customers(session, 6)
        rows = [_row(template, customer) for customer in customers]
    # Another process holds the template row, counting 3 coupons, and commits only
    # once the batch's statement (its snapshot already taken) waits for that row.
    other = session_factory()
    other.execute(
        update(CouponTemplate)
        .where(CouponTemplate.id == template.id)
        .values(issued_count=CouponTemplate.issued_count + 3)
    )
    writer = ClaimWriter(session_factory)
    try:
        futures: list[Future[int]] = _one_batch(writer, rows)
        committer = threading.Timer(0.5, other.commit)
        committer.start()
        outcomes = [_outcome(future) for future in futures]
        committer.join()
    finally:
        other.close()
        writer.stop()
    # The batch statement failed on the CHECK and the claims went one by one.
    assert "coupon claims failed; one by one" in caplog.text
    issued = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert len(issued) == 2
    assert [outcome for outcome in outcomes if not isinstance(outcome, int)] == [Exhausted] * 4
    with transaction(session_factory) as session:
        assert session.get(CouponTemplate, template.id).issued_count == 5  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(Coupon)) == 2
        # Only the two issued claims keep a tally.
        assert session.scalar(select(func.sum(CouponTally.claimed_total))) == 2


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_big_batch_goes_in_one_statement_per_round(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        template = make_template(session, per_customer_limit=2)
        customers = _customers(session, 80)
    rows = [_row(template, customer) for customer in customers * 3]  # 240: one batch
    writer = ClaimWriter(session_factory)
    started = time.monotonic()
    try:
        outcomes = [_outcome(future) for future in _one_batch(writer, rows)]
    finally:
        writer.stop()
    assert time.monotonic() - started < 30
    assert writer.batches == 1
    # Rounds run in order: each customer's first two claims are issued, the third
    # (the third round) is over the limit.
    assert all(isinstance(outcome, int) for outcome in outcomes[:160])
    assert set(outcomes[160:]) == {LimitReached}
    with transaction(session_factory) as session:
        assert session.get(CouponTemplate, template.id).issued_count == 160  # type: ignore[union-attr]
