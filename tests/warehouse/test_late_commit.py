"""PostgreSQL assigns ids and arrival times before commit: a row that commits after a
later one must still be exported, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.warehouse.conftest import T0
from tests.warehouse.factories import make_customer, make_event


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_event_committed_late_is_exported_once(committed_engine: Engine, wh: Warehouse) -> None:
    with Session(committed_engine) as setup:
        customer = make_customer(setup, at=T0)
        setup.commit()
        customer_id = customer.id
    slow = Session(committed_engine)
    fast = Session(committed_engine)
    try:
        # The slow transaction stamps its event first (smaller id, earlier arrival)...
        slow_event = make_event(
            slow,
            slow.get(type(customer), customer_id),
            occurred_at=T0,
            received_at=T0,  # type: ignore[arg-type]
        )
        # ...but a later one commits first and is exported, moving the watermark past it.
        fast_event = make_event(
            fast,
            fast.get(type(customer), customer_id),  # type: ignore[arg-type]
            occurred_at=T0,
            received_at=T0 + timedelta(seconds=30),
        )
        fast.commit()
        assert slow_event.id < fast_event.id
        first = export.sync(committed_engine, wh, now=T0 + timedelta(seconds=31))
        assert first.rows["events"] == 1
        slow.commit()
        slow_id, fast_id = slow_event.id, fast_event.id
    finally:
        slow.close()
        fast.close()
    second = export.sync(committed_engine, wh, now=T0 + timedelta(seconds=40))
    assert second.rows["events"] == 1
    third = export.sync(committed_engine, wh, now=T0 + timedelta(seconds=50))
    assert third.rows["events"] == 0
    with wh.connect() as con:
        assert con.execute("SELECT id FROM events ORDER BY id").fetchall() == [
            (slow_id,),
            (fast_id,),
        ]
