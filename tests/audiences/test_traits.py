"""Computed traits: DuckDB results equal a plain Python computation on random data;
subset runs equal full runs; only changed rows are written back; both databases."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.audiences import traits
from siyu.audiences.traits_sql import COMPARED_COLUMNS
from siyu.core import clock
from siyu.core.db import transaction
from siyu.coupons.issuing import shop_today
from siyu.models.audience import CustomerTrait, LifecycleDistribution
from siyu.models.customer import Customer, CustomerStatus
from siyu.warehouse.engine import Warehouse
from tests.audiences import traits_data
from tests.audiences.traits_data import (
    sync_and_recompute,
)
from tests.audiences.traits_reference import quantile_scores, reference

# Everything but RFM (compared by its own rule below) and the stage's start time.
BASE_TRAITS = tuple(
    name for name in COMPARED_COLUMNS if not name.startswith("rfm_") and name != "ops_stage_since"
)


def stored(factory: sessionmaker[Session]) -> dict[int, dict[str, Any]]:
    with transaction(factory) as session:
        rows = session.scalars(select(CustomerTrait)).all()
        return {
            row.customer_id: {
                name: getattr(row, name) for name in (*COMPARED_COLUMNS, "computed_at")
            }
            for row in rows
        }


def naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if hasattr(value, "tzinfo") and value.tzinfo else value


@pytest.mark.parametrize("seed", [7, 2026])
def test_traits_equal_a_plain_python_computation(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
    seed: int,
) -> None:
    rng = random.Random(seed)
    now = clock.now()
    with transaction(session_factory) as session:
        data = traits_data.build(session, rng, now=now, customers=40)
    result = sync_and_recompute(committed_engine, session_factory, warehouse, now=now)
    expected = reference(data, now)
    rows = stored(session_factory)
    assert result.customers == 40
    assert result.changed == 40
    assert result.transitions == 0  # a first computation records no transitions
    assert sorted(rows) == sorted(data.customers)
    for customer_id, want in expected.items():
        got = {name: naive(rows[customer_id][name]) for name in BASE_TRAITS}
        for name in BASE_TRAITS:
            if name == "avg_days_between_orders" and want[name] is not None:
                assert math.isclose(got[name], want[name], rel_tol=1e-9), (customer_id, name)
            else:
                assert got[name] == want[name], (customer_id, name, got[name], want[name])
    # RFM by rank quintiles over the customers with a paid order.
    scored = {cid: row for cid, row in expected.items() if row["orders_total"]}
    recency = quantile_scores({cid: row["last_order_at"] for cid, row in scored.items()})
    frequency = quantile_scores({cid: row["orders_total"] for cid, row in scored.items()})
    monetary = quantile_scores({cid: row["spend_total"] for cid, row in scored.items()})
    for customer_id, row in rows.items():
        if customer_id in scored:
            assert (row["rfm_recency"], row["rfm_frequency"], row["rfm_monetary"]) == (
                recency[customer_id],
                frequency[customer_id],
                monetary[customer_id],
            )
            assert row["rfm_group"] is not None
        else:
            assert (row["rfm_recency"], row["rfm_group"]) == (None, None)
    derived = warehouse.read_derived("traits")
    assert derived is not None
    assert derived.num_rows == 40


def test_subset_recompute_equals_full_recompute_and_writes_only_changes(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> None:
    rng = random.Random(11)
    now = clock.now()
    with transaction(session_factory) as session:
        data = traits_data.build(session, rng, now=now, customers=30)
    sync_and_recompute(committed_engine, session_factory, warehouse, now=now)
    first = stored(session_factory)

    # Nothing changed: a second full run writes nothing.
    frozen_clock.advance(timedelta(minutes=1))
    later = clock.now()
    again = sync_and_recompute(committed_engine, session_factory, warehouse, now=later)
    assert again.changed == 0
    assert stored(session_factory) == first

    # New orders and events for three customers, then a subset run for them.
    touched = data.customers[:3]
    with transaction(session_factory) as session:
        for customer_id in touched:
            traits_data.add_orders(session, rng, data, customer_id, now=later, count=2, max_days=5)
            traits_data.add_events(session, rng, data, customer_id, now=later, count=3)
    subset = sync_and_recompute(
        committed_engine, session_factory, warehouse, now=later, customer_ids=touched
    )
    assert subset.customers == 3
    after_subset = stored(session_factory)
    changed_ids = {cid for cid in after_subset if after_subset[cid] != first[cid]}
    assert changed_ids <= set(touched)
    # Rows that did not change keep their computed_at: they were not written.
    for customer_id in set(data.customers) - changed_ids:
        assert after_subset[customer_id]["computed_at"] == first[customer_id]["computed_at"]
    derived_subset = warehouse.read_derived("traits")
    assert derived_subset is not None

    # A full run at the same moment agrees with the subset run for those customers.
    full = sync_and_recompute(committed_engine, session_factory, warehouse, now=later)
    after_full = stored(session_factory)
    for customer_id in touched:
        subset_row = {k: v for k, v in after_subset[customer_id].items() if k != "computed_at"}
        full_row = {k: v for k, v in after_full[customer_id].items() if k != "computed_at"}
        assert subset_row == full_row
    expected = reference(data, later)
    for customer_id in touched:
        assert after_full[customer_id]["orders_total"] == expected[customer_id]["orders_total"]
    # The full run moves others only where the touched customers' new values shifted
    # their RFM ranks: nothing but RFM columns differs for them.
    rfm_columns = {"rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_group"}
    moved = set()
    for customer_id in set(data.customers) - set(touched):
        differing = {
            name
            for name in COMPARED_COLUMNS
            if after_full[customer_id][name] != after_subset[customer_id][name]
        }
        assert differing <= rfm_columns, (customer_id, differing)
        if differing:
            moved.add(customer_id)
    assert full.changed == len(moved)


def test_customers_no_longer_live_lose_their_traits(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> None:
    rng = random.Random(5)
    now = clock.now()
    with transaction(session_factory) as session:
        data = traits_data.build(session, rng, now=now, customers=6)
    sync_and_recompute(committed_engine, session_factory, warehouse, now=now)
    survivor, merged = data.customers[0], data.customers[1]
    frozen_clock.advance(timedelta(minutes=1))
    with transaction(session_factory) as session:
        customer = session.get(Customer, merged)
        assert customer is not None
        customer.status = CustomerStatus.MERGED
        customer.merged_into_id = survivor
        customer.updated_at = clock.now()
    sync_and_recompute(committed_engine, session_factory, warehouse, now=clock.now())
    rows = stored(session_factory)
    assert merged not in rows
    expected = reference(data, clock.now())
    # The survivor now counts the merged customer's paid orders too.
    assert rows[survivor]["orders_total"] == (
        expected[survivor]["orders_total"] + expected[merged]["orders_total"]
    )
    derived = warehouse.read_derived("traits")
    assert derived is not None
    assert merged not in derived.column("customer_id").to_pylist()
    # force_writeback rewrites every live row even though nothing changed.
    frozen_clock.advance(timedelta(minutes=1))
    with transaction(session_factory) as session:
        forced = traits.recompute(session, warehouse, now=clock.now(), force_writeback=True)
    assert forced.changed == 5
    assert {row["computed_at"] for row in stored(session_factory).values()} == {clock.now()}


def test_empty_warehouse_computes_nothing(session: Session, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "empty")
    # A naive `now` is taken as UTC (the warehouse's convention).
    result = traits.recompute(session, wh, now=clock.now().replace(tzinfo=None))
    assert (result.customers, result.changed, result.transitions) == (0, 0, 0)
    assert session.scalar(select(func.count()).select_from(CustomerTrait)) == 0
    today = session.execute(select(LifecycleDistribution.day, LifecycleDistribution.customers))
    assert sorted(set(today)) == [(shop_today(clock.now()), 0)]
