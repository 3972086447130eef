"""Attribution equals a plain-Python walk over each order's touches, under every model
and dimension; weights sum to 1 per order and totals equal GMV; store scope."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics.attribution import (
    AttributionDimension,
    AttributionModel,
    attribute,
    credit_sql,
)
from siyu.analytics.period import Period
from siyu.core import clock
from siyu.core.db import transaction
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from tests.analytics import campaigns_reference as ref
from tests.analytics.conftest import TIMEZONE, OpenAnalytics
from tests.analytics.helpers import commit_and_export

PERIOD = Period(date(2026, 10, 23), date(2026, 11, 21))


def test_attribution_equals_a_plain_python_walk(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
    open_test_analytics: OpenAnalytics,
) -> None:
    data = commit_and_export(
        committed_engine,
        session_factory,
        warehouse,
        lambda session, now: ref.build_attribution(
            session, random.Random(8), now=now, customers=70
        ),
    )
    begin, finish = PERIOD.utc_bounds(TIMEZONE)
    in_period = [order for order in data.orders if begin <= order["paid_at"] < finish]
    total_gmv = sum(order["gmv"] for order in in_period)
    assert len(in_period) > 40
    with transaction(session_factory) as session:
        analytics = open_test_analytics(session, today=date(2026, 11, 22))
        store = open_test_analytics(
            session, today=date(2026, 11, 22), scope=DataScope(ScopeKind.STORE, store_id=1)
        )
        try:
            for model in AttributionModel:
                for dimension in AttributionDimension:
                    credits = analytics.rows(credit_sql(model, dimension, PERIOD, TIMEZONE))
                    per_order: dict[int, dict[str, float]] = {}
                    for row in credits:
                        per_order.setdefault(row["order_id"], {})[row["value"]] = row["weight"]
                    assert sorted(per_order) == sorted(order["id"] for order in in_period)
                    for order in in_period:
                        got = per_order[order["id"]]
                        want = ref.order_weights(data, order, model.value, dimension.value)
                        assert math.isclose(sum(got.values()), 1.0, abs_tol=1e-12)
                        assert got.keys() == want.keys(), (model, dimension, order)
                        for value, weight in want.items():
                            assert math.isclose(got[value], weight, abs_tol=1e-12)

                    results = attribute(analytics, PERIOD, model=model, dimension=dimension)
                    assert sum(item.credited_gmv for item in results) == total_gmv
                    expected = ref.attribution_reference(
                        data, begin, finish, model.value, dimension.value
                    )
                    assert {item.value for item in results} == set(expected)
                    for item in results:
                        want_value = expected[item.value]
                        # Rounded to whole fen so the column adds up: within a fen.
                        assert abs(item.credited_gmv - want_value["gmv"]) < 1.0
                        assert math.isclose(
                            item.credited_orders, want_value["orders"], abs_tol=1e-6
                        )
                        assert item.buyers == len(want_value["buyers"])

                    scoped = attribute(store, PERIOD, model=model, dimension=dimension)
                    expected_store = ref.attribution_reference(
                        data, begin, finish, model.value, dimension.value, store_id=1
                    )
                    assert {item.value for item in scoped} == set(expected_store)
                    for item in scoped:
                        assert abs(item.credited_gmv - expected_store[item.value]["gmv"]) < 1.0
                    assert sum(item.credited_gmv for item in scoped) == sum(
                        order["gmv"] for order in in_period if order["store_id"] == 1
                    )
        finally:
            analytics.close()
            store.close()


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a valid"):
        AttributionModel("linear")
