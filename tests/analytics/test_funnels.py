"""Ordered funnels: DuckDB results equal the plain-Python funnel on random data (OLTP →
exporter → warehouse, whole brand and a store manager's scope), on hypothesis-drawn
small event streams (ordering, ties, the window), and bad requests are refused with
stable codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics import funnels
from siyu.analytics.connection import Analytics
from siyu.analytics.errors import InvalidAnalyticsRequest, InvalidSlice
from siyu.analytics.funnels import FunnelStep
from siyu.analytics.period import Period
from siyu.core import clock
from siyu.core.db import transaction
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from tests.analytics import behaviour_reference as reference
from tests.analytics.conftest import OpenAnalytics

START, END = date(2026, 9, 1), date(2026, 11, 20)
SHOP_FUNNEL: list[dict[str, Any]] = [
    {"type": "product_view", "where": {"category": "口红"}},
    {"type": "add_to_cart"},
    {"type": "checkout_start"},
    {"type": "order_paid"},
]


def _steps(raw: list[dict[str, Any]]) -> list[FunnelStep]:
    return [FunnelStep(step["type"], dict(step.get("where", {}))) for step in raw]


def test_funnels_equal_a_plain_python_computation(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    open_test_analytics: OpenAnalytics,
    frozen_clock: clock.FrozenClock,
) -> None:
    world = reference.build_exported(
        committed_engine, session_factory, warehouse, seed=21, customers=140
    )
    today = clock.now().astimezone(reference.ZONE).date()
    cases: list[tuple[list[dict[str, Any]], timedelta, str | None, str | None]] = [
        (SHOP_FUNNEL, timedelta(days=1), "touchpoint", "touchpoint"),
        (SHOP_FUNNEL[1:], timedelta(days=3), "channel_code", "channel_code_id"),
        ([{"type": "product_view"}, {"type": "product_view"}], timedelta(hours=2), None, None),
        (
            [{"type": "order_paid"}, {"type": "order_paid"}],
            timedelta(days=30),
            "campaign",
            "campaign_id",
        ),
    ]
    store_one = DataScope(ScopeKind.STORE, staff_id=1, store_id=1)
    for scope, store in ((DataScope(ScopeKind.ALL), None), (store_one, 1)):
        for raw, window, slice_by, column in cases:
            totals, slices = reference.funnel(world, START, END, raw, window, column, store)
            with (
                transaction(session_factory) as session,
                open_test_analytics(session, today=today, scope=scope) as analytics,
            ):
                result = funnels.funnel(
                    analytics, Period(START, END), _steps(raw), window=window, slice_by=slice_by
                )
            assert [step.customers for step in result.steps] == totals, (raw, store)
            # The whole brand's data converts some and loses some in every case.
            assert totals[0] > totals[-1] > (0 if store is None else -1), (raw, store, totals)
            assert result.steps[1].rate_from_previous == totals[1] / totals[0]
            if slice_by is not None:
                got = {item.value: item.customers for item in result.slices}
                want = {
                    ("" if value is None else str(value)): counts
                    for value, counts in slices.items()
                }
                assert got == want, (raw, store)


# Hypothesis: small streams straight into the analytics views ------------------------

# 2026-09-11 00:00 in Shanghai, naive UTC as in the warehouse.
BASE = datetime(2026, 9, 10, 16, 0, tzinfo=UTC).replace(tzinfo=None)
TYPES = ("product_view", "add_to_cart", "checkout_start")


def _analytics(events: list[dict[str, Any]], orders: list[dict[str, Any]]) -> Analytics:
    """The views a funnel reads, filled directly (no OLTP round trip per example)."""
    con = duckdb.connect(":memory:")
    con.register(
        "_events",
        pa.table(
            {
                "id": pa.array([event["id"] for event in events], pa.int64()),
                "customer_id": pa.array([event["customer_id"] for event in events], pa.int64()),
                "type": pa.array([event["type"] for event in events], pa.string()),
                "occurred_at": pa.array([event["at"] for event in events], pa.timestamp("us")),
                "touchpoint": pa.array([event["touchpoint"] for event in events], pa.string()),
                "category": pa.array([event["category"] for event in events], pa.string()),
            }
        ),
    )
    con.execute(
        """CREATE VIEW a_events AS SELECT id, customer_id, type, occurred_at, touchpoint,
           CAST(NULL AS BIGINT) AS channel_code_id, CAST(NULL AS BIGINT) AS campaign_id,
           json_object('category', category) AS properties,
           CAST(occurred_at AS DATE) AS day FROM _events"""
    )
    con.register(
        "_orders",
        pa.table(
            {
                "order_id": pa.array([order["id"] for order in orders], pa.int64()),
                "customer_id": pa.array([order["customer_id"] for order in orders], pa.int64()),
                "paid_at": pa.array([order["at"] for order in orders], pa.timestamp("us")),
                "touchpoint": pa.array([order["touchpoint"] for order in orders], pa.string()),
            }
        ),
    )
    con.execute(
        """CREATE VIEW orders AS SELECT order_id, customer_id, paid_at, touchpoint,
           0 AS paid_amount, 0 AS refunded_amount, CAST(NULL AS BIGINT) AS channel_code_id,
           CAST(NULL AS BIGINT) AS campaign_id, CAST(NULL AS BIGINT) AS referrer_customer_id,
           CAST(NULL AS BIGINT) AS store_id, CAST(paid_at AS DATE) AS day FROM _orders"""
    )
    return Analytics(
        con=con, timezone="Asia/Shanghai", today=date(2026, 9, 20), scope=DataScope(ScopeKind.ALL)
    )


event_strategy = st.fixed_dictionaries(
    {
        "customer_id": st.integers(1, 3),
        "type": st.sampled_from((*TYPES, "order_paid")),
        "minute": st.integers(-120, 60 * 24 + 120),  # around the one-day period
        "touchpoint": st.sampled_from(("mp", "oa", None)),
        "category": st.sampled_from(("口红", "面霜")),
    }
)
step_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from((*TYPES, "order_paid")),
            "category": st.sampled_from((None, "口红")),
        }
    ),
    min_size=2,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(event_strategy, max_size=25),
    raw_steps=step_strategy,
    window_minutes=st.integers(1, 240),
)
def test_funnel_ordering_and_window_match_the_reference(
    rows: list[dict[str, Any]], raw_steps: list[dict[str, Any]], window_minutes: int
) -> None:
    events: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        item = {**row, "id": number, "at": BASE + timedelta(minutes=row["minute"])}
        (orders if row["type"] == "order_paid" else events).append(item)
    steps = [
        {"type": step["type"], "where": {"category": step["category"]}}
        if step["category"] and step["type"] != "order_paid"
        else {"type": step["type"]}
        for step in raw_steps
    ]
    world = reference.World(now=BASE)
    world.events = events
    world.orders = [{**order, "store": None} for order in orders]
    world.customers = {number: {"store": None} for number in (1, 2, 3)}
    window = timedelta(minutes=window_minutes)
    day = date(2026, 9, 11)
    totals, slices = reference.funnel(world, day, day, steps, window, "touchpoint")
    with _analytics(events, orders) as analytics:
        result = funnels.funnel(
            analytics, Period(day, day), _steps(steps), window=window, slice_by="touchpoint"
        )
    assert [step.customers for step in result.steps] == totals
    got = {item.value: item.customers for item in result.slices}
    assert got == {("" if key is None else key): value for key, value in slices.items()}


# Validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "window", "slice_by", "error"),
    [
        ([{"type": "product_view"}], timedelta(days=1), None, InvalidAnalyticsRequest),
        ([{"type": "product_view"}] * 9, timedelta(days=1), None, InvalidAnalyticsRequest),
        (
            [{"type": "nope"}, {"type": "order_paid"}],
            timedelta(days=1),
            None,
            InvalidAnalyticsRequest,
        ),
        (
            [{"type": "product_view"}, {"type": "order_paid", "where": {"x": "1"}}],
            timedelta(days=1),
            None,
            InvalidAnalyticsRequest,
        ),
        (
            [{"type": "product_view", "where": {"a'b": "1"}}, {"type": "order_paid"}],
            timedelta(days=1),
            None,
            InvalidAnalyticsRequest,
        ),
        (
            [{"type": "product_view"}, {"type": "add_to_cart"}],
            timedelta(seconds=59),
            None,
            InvalidAnalyticsRequest,
        ),
        (
            [{"type": "product_view"}, {"type": "add_to_cart"}],
            timedelta(days=91),
            None,
            InvalidAnalyticsRequest,
        ),
        (
            [{"type": "product_view"}, {"type": "add_to_cart"}],
            timedelta(days=1),
            "city",
            InvalidSlice,
        ),
    ],
)
def test_invalid_funnels_are_refused(
    steps: list[dict[str, Any]], window: timedelta, slice_by: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error) as raised:
        funnels.validate(_steps(steps), window, slice_by)
    assert getattr(raised.value, "status", 400) == 400


def test_custom_event_types_and_ninety_days_are_accepted() -> None:
    steps = _steps([{"type": "custom.quiz_done"}, {"type": "order_paid"}])
    funnels.validate(steps, timedelta(days=90), "campaign")
    funnels.validate(steps, timedelta(minutes=1), None)
