"""Traffic map and lifecycle funnel: DuckDB results equal a plain-Python computation on
random data, for the whole brand and for a store manager's scope; the Sankey's flows
are conserved."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics import funnels, traffic
from siyu.analytics.period import Period
from siyu.core import clock
from siyu.core.db import transaction
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from tests.analytics import behaviour_reference as reference
from tests.analytics.conftest import OpenAnalytics

START, END = date(2026, 9, 1), date(2026, 10, 31)
STORE_ONE = DataScope(ScopeKind.STORE, staff_id=1, store_id=1)


def _flows(result: traffic.TrafficMap) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(source, touchpoint) → (customers, buyers, repeaters) read back from the map."""
    source_of: dict[str, list[tuple[str, int]]] = {}
    for link in result.links:
        if link.source.startswith("source:"):
            source_of.setdefault(link.target, []).append((link.source[7:], link.customers))
    flows = {}
    for touchpoint_key, pairs in source_of.items():
        for source, customers in pairs:
            flows[(source, touchpoint_key[11:])] = customers
    return flows  # type: ignore[return-value]


def test_traffic_map_and_lifecycle_equal_a_plain_python_computation(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    open_test_analytics: OpenAnalytics,
    frozen_clock: clock.FrozenClock,
) -> None:
    world = reference.build_exported(
        committed_engine, session_factory, warehouse, seed=8, customers=160
    )
    period = Period(START, END)
    today = clock.now().astimezone(reference.ZONE).date()
    for scope, store in ((DataScope(ScopeKind.ALL), None), (STORE_ONE, 1)):
        expected = reference.traffic(world, START, END, store)
        with (
            transaction(session_factory) as session,
            open_test_analytics(session, today=today, scope=scope) as analytics,
        ):
            result = traffic.traffic_map(analytics, period)
            life = funnels.lifecycle_funnel(analytics, period)
        assert expected, "the random data must acquire someone in the period"
        # Source → touchpoint links are the customers of each flow.
        assert _flows(result) == {key: value[0] for key, value in expected.items()}
        acquired = sum(value[0] for value in expected.values())
        buyers = sum(value[1] for value in expected.values())
        repeaters = sum(value[2] for value in expected.values())
        private = sum(value[0] for key, value in expected.items() if key[1] != "none")
        assert [(step.name, step.customers) for step in result.steps] == [
            ("acquired", acquired),
            ("private_domain", private),
            ("first_order", buyers),
            ("repeat_order", repeaters),
        ]
        assert result.steps[3].rate_from_previous == (repeaters / buyers if buyers else None)
        for row in result.touchpoints:
            want = [value for key, value in expected.items() if key[1] == row.name]
            assert (row.acquired, row.first_order, row.repeat_order) == tuple(
                sum(item[index] for item in want) for index in range(3)
            )
        for row in result.sources:
            want = [value for key, value in expected.items() if key[0] == row.name]
            assert (row.acquired, row.first_order, row.repeat_order) == tuple(
                sum(item[index] for item in want) for index in range(3)
            )
            assert row.private_domain == sum(
                value[0]
                for key, value in expected.items()
                if key[0] == row.name and key[1] != "none"
            )
        # Conservation: what enters each touchpoint node leaves it once (or stops).
        inflow: dict[str, int] = {}
        outflow: dict[str, int] = {}
        for link in result.links:
            inflow[link.target] = inflow.get(link.target, 0) + link.customers
            outflow[link.source] = outflow.get(link.source, 0) + link.customers
        assert sum(outflow[key] for key in outflow if key.startswith("source:")) == acquired
        for node in result.nodes:
            if node.stage == "touchpoint":
                assert inflow[node.key] == node.customers >= outflow.get(node.key, 0)
        assert inflow.get(traffic.FIRST_ORDER, 0) == buyers
        assert inflow.get(traffic.REPEAT_ORDER, 0) == repeaters

        want_life = reference.lifecycle(world, START, END, store)
        assert {stage.stage: stage.customers for stage in life.stages} == want_life
        assert life.stages[1].rate_of_acquired == want_life["retain"] / want_life["acquire"]
    assert min(value for value in want_life.values()) > 0, "every stage is exercised"


def test_an_empty_warehouse_gives_an_empty_map(
    session: Session, warehouse: Warehouse, open_test_analytics: OpenAnalytics
) -> None:
    with open_test_analytics(session, today=date(2026, 11, 22)) as analytics:
        result = traffic.traffic_map(analytics, Period(START, END))
        life = funnels.lifecycle_funnel(analytics, Period(START, END))
    assert (result.acquired, result.nodes, result.links) == (0, [], [])
    assert [step.rate_from_previous for step in result.steps] == [None, None, None, None]
    assert [stage.customers for stage in life.stages] == [0, 0, 0, 0]
