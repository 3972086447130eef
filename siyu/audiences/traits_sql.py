"""The DuckDB SQL of the computed traits (docs/traits.md has every definition).

Everything runs as set-based SQL over the warehouse views, staged in TEMP tables of
the caller's connection; nothing is fed to DuckDB row by row. The statements take
named parameters (``$now`` …) computed once in Python, so the windows are exact
and the same in every statement.

**Paid order** (the one definition every trait uses): an order with ``paid_at`` set,
``paid_at <= now`` and ``paid_amount > refunded_amount``, so a fully refunded order
does not count at all. Its time is ``paid_at``; its **spend** is
``paid_amount - refunded_amount`` (fen), so a partial refund lowers the spend.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa

from siyu.audiences.config_schemas import AudienceSettings

# The columns of customer_trait, in order, with the Arrow types of derived/traits.parquet.
TRAITS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("first_order_at", pa.timestamp("us")),
        ("last_order_at", pa.timestamp("us")),
        ("orders_30d", pa.int64()),
        ("orders_90d", pa.int64()),
        ("orders_365d", pa.int64()),
        ("orders_total", pa.int64()),
        ("spend_30d", pa.int64()),
        ("spend_90d", pa.int64()),
        ("spend_365d", pa.int64()),
        ("spend_total", pa.int64()),
        ("aov", pa.int64()),
        ("avg_days_between_orders", pa.float64()),
        ("favourite_category_id", pa.int64()),
        ("preferred_store_id", pa.int64()),
        ("preferred_touchpoint", pa.string()),
        ("last_active_at", pa.timestamp("us")),
        ("coupon_order_share", pa.int64()),
        ("next_order_from", pa.date32()),
        ("next_order_to", pa.date32()),
        ("is_subscribed", pa.bool_()),
        ("subscribe_quota", pa.int64()),
        ("rfm_recency", pa.int64()),
        ("rfm_frequency", pa.int64()),
        ("rfm_monetary", pa.int64()),
        ("rfm_group", pa.string()),
        ("aipl_stage", pa.string()),
        ("ops_stage", pa.string()),
        ("ops_stage_since", pa.timestamp("us")),
        ("computed_at", pa.timestamp("us")),
    ]
)
TRAIT_COLUMNS: tuple[str, ...] = tuple(TRAITS_SCHEMA.names)
# Compared to find the rows that changed (computed_at moves on every run).
COMPARED_COLUMNS: tuple[str, ...] = tuple(
    name for name in TRAIT_COLUMNS if name not in ("customer_id", "computed_at")
)
DUCKDB_TYPES = {
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}
SUBSCRIBE_TYPES = ("subscribe", "unsubscribe")
# Mini-program subscribe-message opt-ins are `subscribe` events on the mp touchpoint;
# an OA follow is a `subscribe` on the oa touchpoint and gives no quota.
QUOTA_TOUCHPOINT = "mp"
MICROSECONDS_PER_DAY = 86_400_000_000


def parameters(now: datetime, settings: AudienceSettings) -> dict[str, object]:
    """The bound values of every statement: ``now`` and the window starts (naive UTC)."""
    return {
        "now": now,
        "since_30": now - timedelta(days=30),
        "since_90": now - timedelta(days=90),
        "since_365": now - timedelta(days=365),
        "interest_since": now - timedelta(days=settings.aipl.interest_window_days),
        "loyal_since": now - timedelta(days=settings.aipl.loyal_window_days),
    }


def scope_sql(subset: bool) -> str:
    """``_scope``: the live customers to compute (all, or those in ``_subset``)."""
    where = " WHERE customer_id IN (SELECT customer_id FROM _subset)" if subset else ""
    return f"CREATE OR REPLACE TEMP TABLE _scope AS SELECT customer_id FROM live_customers{where}"


def _restrict(subset: bool, column: str = "customer_id") -> str:
    # In a subset run every scan is cut to the subset first; a full run scans all and
    # drops customers that are not live at the final join with _scope.
    return f" AND {column} IN (SELECT customer_id FROM _scope)" if subset else ""


# A subset run reads the orders view once into ``_scoped_orders`` (its customers'
# orders only) and takes both the paid orders and the order activity from it: each
# pass over the view costs a scan of every order and its merge resolution (~0.5 s on
# 10 M orders), the second pass over the few scoped rows next to nothing.
SCOPED_ORDERS_SQL = """
CREATE OR REPLACE TEMP TABLE _scoped_orders AS
SELECT order_id, customer_id, created_at, paid_at, paid_amount, refunded_amount,
       store_id, touchpoint
FROM orders
WHERE customer_id IN (SELECT customer_id FROM _scope)
"""


def _orders_source(subset: bool) -> str:
    return "_scoped_orders" if subset else "orders"


def paid_orders_sql(subset: bool) -> str:
    return f"""
CREATE OR REPLACE TEMP TABLE _paid AS
SELECT order_id, customer_id, paid_at, paid_amount - refunded_amount AS spend,
       store_id, touchpoint
FROM {_orders_source(subset)}
WHERE paid_at IS NOT NULL AND paid_at <= $now AND paid_amount > refunded_amount
  AND customer_id IS NOT NULL
"""


ORDER_AGGREGATES_SQL = """
CREATE OR REPLACE TEMP TABLE _order_agg AS
SELECT customer_id,
       min(paid_at) AS first_order_at,
       max(paid_at) AS last_order_at,
       count(*) FILTER (WHERE paid_at > $since_30) AS orders_30d,
       count(*) FILTER (WHERE paid_at > $since_90) AS orders_90d,
       count(*) FILTER (WHERE paid_at > $since_365) AS orders_365d,
       count(*) AS orders_total,
       coalesce(sum(spend) FILTER (WHERE paid_at > $since_30), 0)::BIGINT AS spend_30d,
       coalesce(sum(spend) FILTER (WHERE paid_at > $since_90), 0)::BIGINT AS spend_90d,
       coalesce(sum(spend) FILTER (WHERE paid_at > $since_365), 0)::BIGINT AS spend_365d,
       sum(spend)::BIGINT AS spend_total,
       count(*) FILTER (WHERE paid_at > $loyal_since) AS orders_loyal_window,
       count(*) FILTER (
           WHERE order_id IN (
               SELECT order_id FROM coupons WHERE status = 'used' AND order_id IS NOT NULL
           )
       ) AS coupon_orders
FROM _paid
GROUP BY customer_id
"""

# Favourite category: most units bought (quantity minus refunded quantity, paid orders
# only, lines without a category ignored); ties go to the smallest category id.
FAVOURITE_CATEGORY_SQL = """
CREATE OR REPLACE TEMP TABLE _favourite AS
SELECT customer_id, category_id AS favourite_category_id
FROM (
    SELECT p.customer_id, l.category_id, sum(l.quantity - l.refunded_quantity) AS units
    FROM order_lines l JOIN _paid p ON p.order_id = l.order_id
    WHERE l.category_id IS NOT NULL
    GROUP BY p.customer_id, l.category_id
    HAVING sum(l.quantity - l.refunded_quantity) > 0
)
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY units DESC, category_id) = 1
"""

# Preferred store: the store of the most paid orders; ties go to the smallest store id.
PREFERRED_STORE_SQL = """
CREATE OR REPLACE TEMP TABLE _store AS
SELECT customer_id, store_id AS preferred_store_id
FROM (
    SELECT customer_id, store_id, count(*) AS n FROM _paid
    WHERE store_id IS NOT NULL GROUP BY customer_id, store_id
)
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, store_id) = 1
"""


def _sql_list(values: list[str]) -> str:
    # Event type names are validated (EVENT_TYPE_PATTERN); quotes are doubled anyway.
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def event_aggregates_sql(subset: bool, engagement_events: list[str]) -> str:
    """One pass over the events, grouped by customer and touchpoint, then rolled up:
    last activity, engagement in the interest window, the subscription state, the
    mini-program opt-in count and the event counts per touchpoint (for the preferred
    touchpoint). Subscription: the later of the last ``subscribe`` and the last
    ``unsubscribe`` wins; at the same instant ``unsubscribe`` wins (never message
    someone who may have opted out)."""
    return f"""
CREATE OR REPLACE TEMP TABLE _event_touch AS
SELECT customer_id, touchpoint, count(*) AS n,
       max(occurred_at) AS last_event_at,
       bool_or(occurred_at > $interest_since AND type IN ({_sql_list(engagement_events)}))
           AS engaged,
       max(occurred_at) FILTER (WHERE type = 'subscribe') AS subscribed_at,
       max(occurred_at) FILTER (WHERE type = 'unsubscribe') AS unsubscribed_at,
       count(*) FILTER (WHERE type = 'subscribe' AND touchpoint = '{QUOTA_TOUCHPOINT}')
           AS subscribe_quota
FROM events
WHERE occurred_at <= $now AND customer_id IS NOT NULL{_restrict(subset)}
GROUP BY customer_id, touchpoint;
CREATE OR REPLACE TEMP TABLE _event_agg AS
SELECT customer_id, max(last_event_at) AS last_event_at, bool_or(engaged) AS engaged,
       max(subscribed_at) IS NOT NULL
           AND (max(unsubscribed_at) IS NULL OR max(subscribed_at) > max(unsubscribed_at))
           AS subscribed,
       sum(subscribe_quota) AS subscribe_quota
FROM _event_touch
GROUP BY customer_id
"""


# Preferred touchpoint: the touchpoint of the most tracked events plus paid orders (each
# counts once); ties go to the alphabetically first name.
TOUCHPOINT_SQL = """
CREATE OR REPLACE TEMP TABLE _touchpoint AS
SELECT customer_id, touchpoint AS preferred_touchpoint
FROM (
    SELECT customer_id, touchpoint, sum(n) AS n FROM (
        SELECT customer_id, touchpoint, n FROM _event_touch WHERE touchpoint IS NOT NULL
        UNION ALL
        SELECT customer_id, touchpoint, count(*) FROM _paid
        WHERE touchpoint IS NOT NULL GROUP BY customer_id, touchpoint
    )
    GROUP BY customer_id, touchpoint
)
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, touchpoint) = 1
"""


def order_activity_sql(subset: bool) -> str:
    """Any order placed (paid or not) is activity: the newest ``created_at``."""
    return f"""
CREATE OR REPLACE TEMP TABLE _order_activity AS
SELECT customer_id, max(created_at) AS last_order_created_at
FROM {_orders_source(subset)}
WHERE created_at <= $now AND customer_id IS NOT NULL
GROUP BY customer_id
"""


# A WeCom contact added within the interest window counts as engagement (AIPL);
# the member tier's rank can make a customer loyal.
CONTACTS_AND_TIERS_SQL = """
CREATE OR REPLACE TEMP TABLE _contact AS
SELECT DISTINCT customer_id FROM staff_links
WHERE added_at > $interest_since AND added_at <= $now AND removed_at IS NULL
  AND customer_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _tier AS
SELECT m.customer_id, max(t.rank) AS tier_rank
FROM memberships m JOIN tiers t ON t.tier_id = m.tier_id
GROUP BY m.customer_id
"""

# Predicted next order (≥ 2 paid orders): gap = (last − first) / (orders − 1) in whole
# seconds; the window is last + gap ± gap/4, as UTC calendar dates.
BASE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _base AS
WITH joined AS (
    SELECT s.customer_id, o.*  EXCLUDE (customer_id),
           f.favourite_category_id, st.preferred_store_id, tp.preferred_touchpoint,
           e.last_event_at, e.engaged, e.subscribed, e.subscribe_quota,
           a.last_order_created_at, c.customer_id IS NOT NULL AS wecom_contact,
           t.tier_rank,
           CASE WHEN o.orders_total >= 2
                THEN (epoch_us(o.last_order_at) - epoch_us(o.first_order_at))
                     // 1000000 // (o.orders_total - 1)
           END AS gap_seconds
    FROM _scope s
    LEFT JOIN _order_agg o ON o.customer_id = s.customer_id
    LEFT JOIN _favourite f ON f.customer_id = s.customer_id
    LEFT JOIN _store st ON st.customer_id = s.customer_id
    LEFT JOIN _touchpoint tp ON tp.customer_id = s.customer_id
    LEFT JOIN _event_agg e ON e.customer_id = s.customer_id
    LEFT JOIN _order_activity a ON a.customer_id = s.customer_id
    LEFT JOIN _contact c ON c.customer_id = s.customer_id
    LEFT JOIN _tier t ON t.customer_id = s.customer_id
)
SELECT customer_id,
       first_order_at, last_order_at,
       coalesce(orders_30d, 0)::BIGINT AS orders_30d,
       coalesce(orders_90d, 0)::BIGINT AS orders_90d,
       coalesce(orders_365d, 0)::BIGINT AS orders_365d,
       coalesce(orders_total, 0)::BIGINT AS orders_total,
       coalesce(spend_30d, 0)::BIGINT AS spend_30d,
       coalesce(spend_90d, 0)::BIGINT AS spend_90d,
       coalesce(spend_365d, 0)::BIGINT AS spend_365d,
       coalesce(spend_total, 0)::BIGINT AS spend_total,
       CASE WHEN orders_total > 0 THEN spend_total // orders_total ELSE 0 END::BIGINT AS aov,
       CASE WHEN orders_total >= 2
            THEN (epoch_us(last_order_at) - epoch_us(first_order_at))::DOUBLE
                 / (orders_total - 1) / {MICROSECONDS_PER_DAY}
       END AS avg_days_between_orders,
       favourite_category_id, preferred_store_id, preferred_touchpoint,
       greatest(last_event_at, last_order_created_at, last_order_at) AS last_active_at,
       CASE WHEN orders_total > 0 THEN 10000 * coupon_orders // orders_total ELSE 0
       END::BIGINT AS coupon_order_share,
       CAST(last_order_at + to_seconds(gap_seconds - gap_seconds // 4) AS DATE)
           AS next_order_from,
       CAST(last_order_at + to_seconds(gap_seconds + gap_seconds // 4) AS DATE)
           AS next_order_to,
       coalesce(subscribed, false) AS is_subscribed,
       coalesce(subscribe_quota, 0)::BIGINT AS subscribe_quota,
       coalesce(orders_loyal_window, 0)::BIGINT AS orders_loyal_window,
       coalesce(engaged, false) OR wecom_contact AS engaged,
       tier_rank
FROM joined
"""


def base_statements(subset: bool, settings: AudienceSettings) -> list[str]:
    """Every statement that builds ``_base`` (one row per customer in ``_scope``)."""
    return [
        scope_sql(subset),
        *([SCOPED_ORDERS_SQL] if subset else []),
        paid_orders_sql(subset),
        ORDER_AGGREGATES_SQL,
        FAVOURITE_CATEGORY_SQL,
        PREFERRED_STORE_SQL,
        *event_aggregates_sql(subset, settings.aipl.engagement_events).split(";"),
        TOUCHPOINT_SQL,
        order_activity_sql(subset),
        *CONTACTS_AND_TIERS_SQL.split(";"),
        BASE_SQL,
    ]
