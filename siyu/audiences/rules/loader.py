"""Register a ``RuleDataset`` in a DuckDB connection under the warehouse view names.

The rule compiler only needs the views of contract section 1 to exist with their
columns; this builds them from in-memory rows through Arrow (typed, so empty lists
still give typed, empty views). Tests and the rule playground use it to run the
compiled SQL without a warehouse export.
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

import duckdb
import pyarrow as pa

from siyu.audiences.rules.evaluate import RuleDataset

_ID = pa.int64()
_TIME = pa.timestamp("us")
_TEXT = pa.string()

SCHEMAS: dict[str, pa.Schema] = {
    "customers": pa.schema(
        [
            ("customer_id", _ID),
            ("status", _TEXT),
            ("merged_into_id", _ID),
            ("guide_id", _ID),
            ("store_id", _ID),
            ("gender", _TEXT),
            ("city", _TEXT),
            ("birthday", pa.date32()),
            ("first_touchpoint", _TEXT),
            ("first_touch_channel_code_id", _ID),
            ("first_touch_at", _TIME),
            ("last_touchpoint", _TEXT),
            ("last_touch_at", _TIME),
            ("last_seen_at", _TIME),
            ("created_at", _TIME),
            ("updated_at", _TIME),
        ]
    ),
    "traits": pa.schema(
        [
            ("customer_id", _ID),
            ("first_order_at", _TIME),
            ("last_order_at", _TIME),
            ("orders_30d", _ID),
            ("orders_90d", _ID),
            ("orders_365d", _ID),
            ("orders_total", _ID),
            ("spend_30d", _ID),
            ("spend_90d", _ID),
            ("spend_365d", _ID),
            ("spend_total", _ID),
            ("aov", _ID),
            ("avg_days_between_orders", pa.float64()),
            ("favourite_category_id", _ID),
            ("preferred_store_id", _ID),
            ("preferred_touchpoint", _TEXT),
            ("last_active_at", _TIME),
            ("coupon_order_share", _ID),
            ("next_order_from", pa.date32()),
            ("next_order_to", pa.date32()),
            ("is_subscribed", pa.bool_()),
            ("subscribe_quota", _ID),
            ("rfm_recency", _ID),
            ("rfm_frequency", _ID),
            ("rfm_monetary", _ID),
            ("rfm_group", _TEXT),
            ("aipl_stage", _TEXT),
            ("ops_stage", _TEXT),
            ("ops_stage_since", _TIME),
            ("computed_at", _TIME),
        ]
    ),
    "customer_tags": pa.schema([("customer_id", _ID), ("tag_id", _ID)]),
    "identities": pa.schema(
        [("customer_id", _ID), ("kind", _TEXT), ("namespace", _TEXT), ("created_at", _TIME)]
    ),
    "staff_links": pa.schema(
        [("customer_id", _ID), ("staff_id", _ID), ("added_at", _TIME), ("removed_at", _TIME)]
    ),
    "active_staff_links": pa.schema([("customer_id", _ID), ("staff_id", _ID)]),
    "memberships": pa.schema(
        [
            ("customer_id", _ID),
            ("tier_id", _ID),
            ("growth_value", _ID),
            ("points_balance", _ID),
            ("joined_at", _TIME),
        ]
    ),
    "tiers": pa.schema([("tier_id", _ID), ("code", _TEXT), ("name", _TEXT), ("rank", _ID)]),
    "events": pa.schema(
        [
            ("id", _ID),
            ("event_id", _TEXT),
            ("customer_id", _ID),
            ("type", _TEXT),
            ("occurred_at", _TIME),
            ("received_at", _TIME),
            ("touchpoint", _TEXT),
            ("channel_code_id", _ID),
            ("campaign_id", _ID),
            ("guide_id", _ID),
            ("product_id", _ID),
            ("category_id", _ID),
            ("properties", _TEXT),
            ("day", pa.date32()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", _ID),
            ("customer_id", _ID),
            ("status", _TEXT),
            ("touchpoint", _TEXT),
            ("channel_code_id", _ID),
            ("campaign_id", _ID),
            ("store_id", _ID),
            ("total_amount", _ID),
            ("paid_amount", _ID),
            ("created_at", _TIME),
            ("paid_at", _TIME),
            ("day", pa.date32()),
        ]
    ),
    "order_lines": pa.schema(
        [
            ("line_id", _ID),
            ("order_id", _ID),
            ("customer_id", _ID),
            ("product_id", _ID),
            ("category_id", _ID),
            ("quantity", _ID),
            ("payable_amount", _ID),
        ]
    ),
    "products": pa.schema([("product_id", _ID), ("category_id", _ID), ("name", _TEXT)]),
    "categories": pa.schema([("category_id", _ID), ("parent_id", _ID), ("name", _TEXT)]),
}


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def register_dataset(con: duckdb.DuckDBPyConnection, dataset: RuleDataset) -> None:
    """Create every view the compiled SQL reads (plus ``live_customers``)."""
    for item in dataset_fields():
        table = _table(getattr(dataset, item), SCHEMAS[item])
        con.register(f"_rule_dataset_{item}", table)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {item} AS SELECT * FROM _rule_dataset_{item}")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW live_customers AS "
        "SELECT * FROM customers WHERE status = 'active'"
    )


def dataset_fields() -> list[str]:
    return [item.name for item in dataclass_fields(RuleDataset)]
