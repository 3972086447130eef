"""The metrics core equals a plain-Python walk over generated orders and events: the
summary, day and week series (gaps as zeros), every slice kind (order-level,
line-level category, customer-level tier, new/returning), store scope, and the driver
tree's contributions against a textbook LMDI."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics import drivers, metrics
from siyu.analytics.attribution import AttributionModel
from siyu.analytics.errors import InvalidSlice
from siyu.analytics.period import Grain, Period, bucket_of
from siyu.analytics.slices import NONE_LABEL, SliceBy
from siyu.core import clock
from siyu.core.db import transaction
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from tests.analytics import metrics_reference as ref
from tests.analytics.conftest import OpenAnalytics
from tests.analytics.helpers import commit_and_export

PERIOD = Period(date(2026, 10, 25), date(2026, 11, 21))
TODAY = date(2026, 11, 22)


def _same(got: dict[str, Any], want: dict[str, Any], context: object) -> None:
    for name in metrics.METRICS:
        assert got[name] == want[name], (context, name, got[name], want[name])


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@pytest.fixture
def generated(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> ref.Dataset:
    return commit_and_export(
        committed_engine,
        session_factory,
        warehouse,
        lambda session, now: ref.build(session, random.Random(11), now=now, customers=160),
    )


def test_metrics_equal_a_plain_python_computation(
    generated: ref.Dataset,
    session_factory: sessionmaker[Session],
    open_test_analytics: OpenAnalytics,
) -> None:
    data = generated
    start, end = PERIOD.start, PERIOD.end
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=TODAY) as analytics,
    ):
        want = ref.metrics(data, start, end)[(None, None)]
        assert want["orders"] > 60
        assert want["refunded_orders"] > 0
        assert want["member_gmv"] > 0
        assert want["new_customers"] > 0
        assert want["returning_customers"] > 0
        _same(metrics.summary(analytics, PERIOD), want, "summary")

        for grain in (Grain.DAY, Grain.WEEK, Grain.MONTH):
            expected = ref.metrics(data, start, end, bucket=lambda day, g=grain: bucket_of(day, g))
            rows = metrics.series(analytics, PERIOD, grain)
            assert [row["bucket"] for row in rows] == sorted({bucket_of(d, grain) for d in _days()})
            for row in rows:
                reference = expected.get((row["bucket"], None))
                if reference is None:  # a gap: zeros, undefined ratios
                    assert row["orders"] == 0
                    assert row["gmv"] == 0
                    assert row["aov"] is None
                else:
                    _same(row, reference, (grain, row["bucket"]))
            assert sum(row["gmv"] for row in rows) == want["gmv"]

        firsts = {
            order["customer_id"]: order["paid_at"]
            for order in sorted(data.orders, key=lambda order: order["paid_at"], reverse=True)
        }
        low, high = PERIOD.utc_bounds("Asia/Shanghai")
        cases: list[tuple[SliceBy, ref.Slicer, Any]] = [
            (
                SliceBy.TOUCHPOINT,
                ref.order_slicer(lambda order: order["touchpoint"]),
                lambda event: event["touchpoint"],
            ),
            (
                SliceBy.STORE,
                ref.order_slicer(lambda order: _text(order["store_id"])),
                lambda event: _text(data.customers[event["customer_id"]]["store_id"]),
            ),
            (SliceBy.CATEGORY, ref.category_slicer, lambda event: None),
            (
                SliceBy.TIER,
                ref.order_slicer(
                    lambda order: (
                        _text(data.tier_id)
                        if data.customers[order["customer_id"]]["joined_at"]
                        else None
                    )
                ),
                lambda event: (
                    _text(data.tier_id)
                    if data.customers[event["customer_id"]]["joined_at"]
                    else None
                ),
            ),
            (
                SliceBy.NEW_RETURNING,
                ref.order_slicer(
                    lambda order: (
                        "new" if low <= firsts[order["customer_id"]] < high else "returning"
                    )
                ),
                lambda event: (
                    "new"
                    if event["customer_id"] not in firsts
                    or low <= firsts[event["customer_id"]] < high
                    else "returning"
                ),
            ),
        ]
        for slice_by, slicer, event_key in cases:
            expected = ref.metrics(data, start, end, slicer=slicer, event_key=event_key)
            rows = metrics.by_slice(analytics, PERIOD, slice_by)
            assert {row["slice"] for row in rows} == {value for _, value in expected}, slice_by
            for row in rows:
                _same(row, expected[(None, row["slice"])], (slice_by, row["slice"]))
            if slice_by is not SliceBy.CATEGORY:  # order-level slices partition the orders
                assert sum(row["gmv"] for row in rows) == want["gmv"]
        labels = {
            row["slice"]: row["label"] for row in metrics.by_slice(analytics, PERIOD, SliceBy.STORE)
        }
        assert labels[str(data.stores[0])] == "门店1"
        assert labels[None] == NONE_LABEL

        weekly = metrics.series(analytics, PERIOD, Grain.WEEK, SliceBy.TOUCHPOINT)
        expected = ref.metrics(
            data,
            start,
            end,
            slicer=ref.order_slicer(lambda order: order["touchpoint"]),
            event_key=lambda event: event["touchpoint"],
            bucket=lambda day: bucket_of(day, Grain.WEEK),
        )
        for row in weekly:
            if (row["bucket"], row["slice"]) in expected:
                _same(row, expected[(row["bucket"], row["slice"])], row["bucket"])
            else:
                assert row["orders"] == 0

        # Attribution models weight the attributable slices; the GMV total is kept.
        credited = metrics.by_slice(
            analytics, PERIOD, SliceBy.TOUCHPOINT, model=AttributionModel.POSITION_BASED
        )
        assert abs(sum(row["gmv"] for row in credited) - want["gmv"]) < 1e-6 * want["gmv"] + 1
        with pytest.raises(InvalidSlice):
            metrics.by_slice(analytics, PERIOD, SliceBy.STORE, model=AttributionModel.FIRST_TOUCH)


def _days() -> list[date]:
    return [PERIOD.start + timedelta(days=offset) for offset in range(PERIOD.days)]


def _store_manager_sees_only_their_store(
    data: ref.Dataset,
    session_factory: sessionmaker[Session],
    open_test_analytics: OpenAnalytics,
) -> None:
    store_id = data.stores[0]
    scope = DataScope(ScopeKind.STORE, store_id=store_id)
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=TODAY, scope=scope) as analytics,
    ):
        want = ref.metrics(data, PERIOD.start, PERIOD.end, store_id=store_id)[(None, None)]
        everything = ref.metrics(data, PERIOD.start, PERIOD.end)[(None, None)]
        assert 0 < want["gmv"] < everything["gmv"]
        _same(metrics.summary(analytics, PERIOD), want, "store summary")
        rows = metrics.by_slice(analytics, PERIOD, SliceBy.STORE)
        assert [row["slice"] for row in rows] == [str(store_id)]


def test_driver_tree_equals_textbook_lmdi_and_scope_holds(
    generated: ref.Dataset,
    session_factory: sessionmaker[Session],
    open_test_analytics: OpenAnalytics,
) -> None:
    """One generated brand for both (each build and export takes seconds)."""
    data = generated
    _store_manager_sees_only_their_store(data, session_factory, open_test_analytics)
    base = PERIOD.previous()
    now_values = ref.metrics(data, PERIOD.start, PERIOD.end)[(None, None)]
    then_values = ref.metrics(data, base.start, base.end)[(None, None)]
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=TODAY) as analytics,
    ):
        tree = drivers.driver_tree(analytics, PERIOD)
        assert tree.base == base
        assert tree.total.method is drivers.Method.LMDI
        change = now_values["gmv"] - then_values["gmv"]
        assert tree.total.change == change
        assert sum(factor.contribution for factor in tree.total.factors) == change
        expected = ref.lmdi(
            [then_values[key] for key in drivers.FUNNEL_FACTORS],
            [now_values[key] for key in drivers.FUNNEL_FACTORS],
            (then_values["gmv"], now_values["gmv"]),
        )
        for factor, reference in zip(tree.total.factors, expected, strict=True):
            assert abs(factor.contribution - reference) < 1.0, factor
            assert factor.base == then_values[factor.key]
            assert factor.current == now_values[factor.key]

        split = drivers.driver_tree(analytics, PERIOD, variant=drivers.Variant.NEW_RETURNING)
        assert sum(factor.contribution for factor in split.total.factors) == change
        for segment in drivers.SEGMENTS:
            parts = [factor for factor in split.total.factors if factor.segment == segment]
            segment_change = (
                now_values[f"{segment}_customer_gmv"] - then_values[f"{segment}_customer_gmv"]
            )
            assert sum(factor.contribution for factor in parts) == segment_change
            expected = ref.lmdi(
                [_segment(then_values, segment, i) for i in range(3)],
                [_segment(now_values, segment, i) for i in range(3)],
                (
                    then_values[f"{segment}_customer_gmv"],
                    now_values[f"{segment}_customer_gmv"],
                ),
            )
            for factor, reference in zip(parts, expected, strict=True):
                assert abs(factor.contribution - reference) < 1.0, factor

        drilled = drivers.driver_tree(analytics, PERIOD, drill_by=SliceBy.STORE)
        assert sum(row.decomposition.change for row in drilled.drill) == change
        for row in drilled.drill:
            assert sum(f.contribution for f in row.decomposition.factors) == (
                row.decomposition.change
            )
        for slice_by in SliceBy:  # every order-level slice partitions the change
            if slice_by is not SliceBy.CATEGORY:
                rows = drivers.driver_tree(analytics, PERIOD, drill_by=slice_by).drill
                assert sum(row.decomposition.change for row in rows) == change, slice_by
        # A line-level drill under the other variant, and a weighted series, also hold.
        by_category = drivers.driver_tree(
            analytics, PERIOD, variant=drivers.Variant.NEW_RETURNING, drill_by=SliceBy.CATEGORY
        )
        for row in by_category.drill:
            assert sum(f.contribution for f in row.decomposition.factors) == (
                row.decomposition.change
            )
        weighted = metrics.series(
            analytics, PERIOD, Grain.WEEK, SliceBy.TOUCHPOINT, model=AttributionModel.FIRST_TOUCH
        )
        total = sum(row["gmv"] for row in weighted)
        assert abs(total - now_values["gmv"]) < 1e-6 * now_values["gmv"] + 1


def _segment(values: dict[str, Any], segment: str, index: int) -> float:
    customers = values[f"{segment}_customers"]
    orders = values[f"{segment}_customer_orders"]
    gmv = values[f"{segment}_customer_gmv"]
    return [customers, gmv / orders, orders / customers][index]
