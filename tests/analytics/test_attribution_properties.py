"""Property test of the attribution SQL on small in-memory tables: for any touch
history, every model's weights equal the plain-Python walk and sum to 1 per order."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.analytics.attribution import AttributionDimension, AttributionModel, credit_sql
from siyu.analytics.period import Period
from tests.analytics import campaigns_reference as ref

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
TIMEZONE = "Asia/Shanghai"
START = datetime(2026, 10, 1, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, a month before
VALUES = st.sampled_from([None, 1, 2, 3])

touch = st.tuples(st.integers(0, 3), st.integers(0, 60 * 24), VALUES)  # customer, hour, value
order = st.tuples(st.integers(0, 3), st.integers(31 * 24, 60 * 24 - 9), VALUES, st.integers(1, 9))


def _tables(touches: list[tuple[int, int, int | None]], orders: list[tuple]) -> ref.Dataset:
    data = ref.Dataset()
    for index, (customer, hour, value) in enumerate(touches, start=1):
        data.events.append(
            {"id": index, "customer_id": customer, "at": START + timedelta(hours=hour)}
            | {key: value for key in ref.DIMENSION_KEYS.values()}
        )
    for index, (customer, hour, value, amount) in enumerate(orders, start=1):
        data.orders.append(
            {
                "id": index,
                "customer_id": customer,
                "paid_at": START + timedelta(hours=hour),
                "gmv": amount * 100,
            }
            | {key: value for key in ref.DIMENSION_KEYS.values()}
        )
    return data


def _connection(data: ref.Dataset) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE a_orders (order_id BIGINT, customer_id BIGINT, paid_at TIMESTAMP, "
        "gmv BIGINT, channel_code_id BIGINT, touchpoint VARCHAR, guide_id BIGINT, "
        "campaign_id BIGINT, day DATE)"
    )
    con.execute(
        "CREATE TABLE a_events (id BIGINT, customer_id BIGINT, occurred_at TIMESTAMP, "
        "channel_code_id BIGINT, touchpoint VARCHAR, guide_id BIGINT, campaign_id BIGINT, "
        "day DATE)"
    )
    for row in data.orders:
        value = row["channel_code_id"]
        con.execute(
            "INSERT INTO a_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row["id"], row["customer_id"], row["paid_at"], row["gmv"], value,
             None if value is None else str(value), value, value, row["paid_at"].date()],
        )  # fmt: skip
    for row in data.events:
        value = row["channel_code_id"]
        con.execute(
            "INSERT INTO a_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [row["id"], row["customer_id"], row["at"], value,
             None if value is None else str(value), value, value, row["at"].date()],
        )  # fmt: skip
    return con


@settings(max_examples=60, deadline=None)
@given(st.lists(touch, max_size=25), st.lists(order, min_size=1, max_size=8))
def test_weights_equal_the_python_walk(
    touches: list[tuple[int, int, int | None]], orders: list[tuple]
) -> None:
    data = _tables(touches, orders)
    for event in data.events:  # the touchpoint column holds text
        event["touchpoint"] = None if event["touchpoint"] is None else str(event["touchpoint"])
    for row in data.orders:
        row["touchpoint"] = None if row["touchpoint"] is None else str(row["touchpoint"])
    con = _connection(data)
    begin, finish = PERIOD.utc_bounds(TIMEZONE)
    try:
        for model in AttributionModel:
            for dimension in (AttributionDimension.CHANNEL_CODE, AttributionDimension.TOUCHPOINT):
                got: dict[int, dict[str, float]] = {}
                for order_id, value, weight in con.execute(
                    credit_sql(model, dimension, PERIOD, TIMEZONE)
                ).fetchall():
                    got.setdefault(order_id, {})[value] = weight
                for row in data.orders:
                    if not begin <= row["paid_at"] < finish:
                        assert row["id"] not in got
                        continue
                    want = ref.order_weights(data, row, model.value, dimension.value)
                    assert got[row["id"]].keys() == want.keys(), (model, row)
                    assert math.isclose(sum(got[row["id"]].values()), 1.0, abs_tol=1e-12)
                    for value, weight in want.items():
                        assert math.isclose(got[row["id"]][value], weight, abs_tol=1e-12)
    finally:
        con.close()
