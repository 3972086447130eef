"""The documented semantics on hand-made rows, in SQL and in the evaluator alike:
NULLs, window edges, count = 0, not, JSON properties, order lines, restrict_to."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from siyu.audiences import rules
from siyu.audiences.rules.evaluate import RuleDataset, evaluate
from siyu.audiences.rules.loader import register_dataset
from tests.audiences.rules.strategies import DAY, MICRO, NOW

WEEK = {"days": 7}


def event(customer_id: int | None, ago: timedelta, **values: Any) -> dict[str, Any]:
    moment = NOW - ago
    return {
        "customer_id": customer_id,
        "type": "product_view",
        "occurred_at": moment,
        "day": moment.date(),
        **values,
    }


DATASET = RuleDataset(
    customers=[
        {"customer_id": 1, "status": "active", "city": "上海", "birthday": date(1990, 5, 1)},
        {"customer_id": 2, "status": "active", "city": None},
        {"customer_id": 3, "status": "active", "city": "北京"},
        {"customer_id": 4, "status": "merged", "city": "上海"},
    ],
    traits=[
        {"customer_id": 1, "last_order_at": NOW - 36 * timedelta(hours=1), "orders_total": 3},
        {"customer_id": 3, "last_order_at": None, "rfm_group": "important_keep"},
    ],
    events=[
        # Exactly on the 7-day edge (in), and a microsecond before it (out).
        event(1, 7 * DAY, properties='{"size": "L", "qty": 2, "gift": true}'),
        event(2, 7 * DAY + MICRO, properties='{"qty": "two"}'),
        event(3, DAY, category_id=1),
        event(3, 2 * DAY, category_id=1),
        event(None, DAY, category_id=1),
        event(4, DAY),
    ],
    categories=[{"category_id": 1, "name": "口红"}],
    orders=[
        {"order_id": 1, "customer_id": 2, "paid_at": NOW - DAY, "day": (NOW - DAY).date()},
        {"order_id": 2, "customer_id": 3, "paid_at": None, "day": (NOW - DAY).date()},
    ],
    order_lines=[{"line_id": 1, "order_id": 1, "category_id": 1}],
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # A comparison with a missing value is false, != included; not() flips it.
        ({"attribute": "city", "op": "!=", "value": "上海"}, [3]),
        ({"not": {"attribute": "city", "op": "=", "value": "上海"}}, [2, 3]),
        ({"attribute": "city", "op": "is_not_set"}, [2]),
        ({"attribute": "city", "op": "not_in", "value": ["北京"]}, [1]),
        # Non-nullable counters default to 0 without a traits row.
        ({"trait": "orders_total", "op": "=", "value": 0}, [2, 3]),
        ({"trait": "days_since_last_order", "op": "=", "value": 1}, [1]),
        ({"trait": "days_since_last_order", "op": "is_not_set"}, [2, 3]),
        ({"trait": "rfm_group", "op": "!=", "value": "important_value"}, [3]),
        ({"attribute": "birthday_month", "op": "=", "value": 5}, [1]),
        # Window edges: now - 7 days is in, a microsecond earlier is out.
        ({"event": "product_view", "window": WEEK}, [1, 3]),
        ({"event": "product_view", "count": {"op": "=", "value": 0}, "window": WEEK}, [2]),
        ({"event": "product_view", "count": {"op": "<", "value": 2}, "window": WEEK}, [1, 2]),
        (
            {
                "event": "product_view",
                "where": [{"property": "category", "op": "=", "value": "口红"}],
                "count": {"op": ">=", "value": 2},
                "window": WEEK,
            },
            [3],
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "category", "op": "!=", "value": "口红"}],
                "window": WEEK,
            },
            [],
        ),
        # JSON properties: text, numbers, booleans as text, non-numbers are not set.
        (
            {
                "event": "product_view",
                "where": [{"property": "properties.size", "op": "=", "value": "L"}],
                "window": {"days": 8},
            },
            [1],
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "properties.qty", "op": ">=", "value": 2}],
                "window": {"days": 8},
            },
            [1],
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "properties.gift", "op": "=", "value": True}],
                "window": {"days": 8},
            },
            [1],
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "properties.qty", "op": "is_set"}],
                "window": {"days": 8},
            },
            [1, 2],
        ),
        # Paid orders, and "an order line of that category".
        ({"event": "order", "window": WEEK}, [2]),
        (
            {
                "event": "order",
                "where": [{"property": "category", "op": "=", "value": "口红"}],
                "window": WEEK,
            },
            [2],
        ),
        (
            {"event": "order", "count": {"op": "=", "value": 0}, "window": WEEK},
            [1, 3],
        ),
    ],
)
def test_semantics(data: dict[str, Any], expected: list[int]) -> None:
    rule = rules.parse(data)
    assert evaluate(DATASET, rule, now=NOW) == expected
    with duckdb.connect() as con:
        register_dataset(con, DATASET)
        assert rules.members(con, rule, now=NOW).to_pylist() == expected


def test_restrict_to_limits_every_part() -> None:
    rule = rules.parse({"event": "product_view", "count": {"op": "=", "value": 0}, "window": WEEK})
    with duckdb.connect() as con:
        register_dataset(con, DATASET)
        restricted = rules.members(con, rule, now=NOW, restrict_to=pa.array([1, 2], pa.int64()))
        assert restricted.to_pylist() == [2]
        assert restricted.type == pa.int64()
        empty = rules.members(con, rule, now=NOW, restrict_to=pa.array([], pa.int64()))
        assert empty.to_pylist() == []
    assert evaluate(DATASET, rule, now=NOW, restrict_to={1, 2}) == [2]
