"""The analytics connection: warehouse views plus the facts every analytics view reads.

``open_analytics`` opens a DuckDB connection over the warehouse (``Warehouse.connect``)
and adds, already restricted to the caller's data scope (DESIGN.md convention 6):

- ``a_orders``: paid orders with GMV (docs/metrics.md), the local day of payment,
  attribution, whether it was the customer's first paid order, membership, current
  tier and lifecycle stage;
- ``a_events``: tracked events with their local day;
- ``a_firsts``: each customer's first paid order (over every order, not just the
  scope's, so "new customer" means new to the brand);
- small dimensions read from the OLTP database at open time: ``a_channel_codes``
  (with the source group of the traffic map), ``a_campaigns``, ``a_staff``, ``a_stores``.

Scope: a store manager sees orders attributed to their store and events of customers
of their store; a guide sees orders they are credited with and events of their own
customers; a member of staff with no scope sees nothing. Dimensions are not scoped
(names only).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.firsts import register_firsts
from siyu.analytics.period import local_day_sql
from siyu.models.campaign import Campaign
from siyu.models.channel_code import ChannelCode
from siyu.models.location import Location
from siyu.models.staff import Staff
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse import state
from siyu.warehouse.engine import Warehouse

# GMV, stated once: what the customer paid minus what was refunded, in fen, for orders
# that were paid (paid_at set). Shipping is included: it is part of what was paid.
GMV_SQL = "(o.paid_amount - o.refunded_amount)"

# Traffic-map source groups of channel-code kinds (siyu.models.channel_code).
CHANNEL_GROUPS: dict[str, str] = {
    "ecommerce": "ecommerce",  # 电商平台 (Tmall, JD, Douyin shop parcels' QR …)
    "ad": "ads",  # 广告投放
    "xiaohongshu": "content",  # 小红书 / 抖音 content
    "douyin": "content",
    "store_poster": "offline_store",  # 线下门店
    "parcel_card": "parcel_card",  # 包裹卡
    "guide": "guide",  # 导购
    "event": "event",  # 活动 / 展会
    "other": "other",
}
UNKNOWN_GROUP = "direct"  # no channel code: organic / direct

# Orders are partitioned by creation day and paid later; payment waits at most a day.
ORDER_PARTITION_SLACK_DAYS = 2


@dataclass
class Analytics:
    """An open analytics connection and what its SQL needs to know; close it after use."""

    con: duckdb.DuckDBPyConnection
    timezone: str
    today: date
    scope: DataScope

    def local_day(self, column: str) -> str:
        return local_day_sql(column, self.timezone, around=self.today)

    def rows(self, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, parameters or [])
        names = [description[0] for description in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Analytics:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def order_scope_sql(scope: DataScope) -> str:
    if scope.kind is ScopeKind.ALL:
        return "TRUE"
    if scope.kind is ScopeKind.STORE:
        return f"o.store_id = {int(scope.store_id or 0)}"
    if scope.kind is ScopeKind.OWN:
        return f"o.guide_id = {int(scope.staff_id or 0)}"
    return "FALSE"


def customer_scope_sql(scope: DataScope, alias: str) -> str:
    """Predicate on a customers row ``alias`` (events are scoped by their customer)."""
    if scope.kind is ScopeKind.ALL:
        return "TRUE"
    if scope.kind is ScopeKind.STORE:
        return f"{alias}.store_id = {int(scope.store_id or 0)}"
    if scope.kind is ScopeKind.OWN:
        return f"{alias}.guide_id = {int(scope.staff_id or 0)}"
    return "FALSE"


def _register_dimensions(con: duckdb.DuckDBPyConnection, session: Session) -> None:
    codes = session.execute(
        select(
            ChannelCode.id,
            ChannelCode.code,
            ChannelCode.name,
            ChannelCode.kind,
            ChannelCode.touchpoint,
            ChannelCode.store_id,
            ChannelCode.guide_id,
        )
    ).all()
    con.register(
        "_dim_channel_codes",
        pa.table(
            {
                "channel_code_id": pa.array([row.id for row in codes], pa.int64()),
                "code": pa.array([row.code for row in codes], pa.string()),
                "name": pa.array([row.name for row in codes], pa.string()),
                "kind": pa.array([row.kind for row in codes], pa.string()),
                "source_group": pa.array(
                    [CHANNEL_GROUPS.get(row.kind, "other") for row in codes], pa.string()
                ),
                "touchpoint": pa.array([row.touchpoint for row in codes], pa.string()),
                "store_id": pa.array([row.store_id for row in codes], pa.int64()),
                "guide_id": pa.array([row.guide_id for row in codes], pa.int64()),
            }
        ),
    )
    campaigns = session.scalars(select(Campaign)).all()
    con.register(
        "_dim_campaigns",
        pa.table(
            {
                "campaign_id": pa.array([row.id for row in campaigns], pa.int64()),
                "public_id": pa.array([row.public_id for row in campaigns], pa.string()),
                "name": pa.array([row.name for row in campaigns], pa.string()),
                "kind": pa.array([row.kind for row in campaigns], pa.string()),
                "status": pa.array([row.status for row in campaigns], pa.string()),
                "touchpoints": pa.array(
                    [list(row.touchpoints) for row in campaigns], pa.list_(pa.string())
                ),
                "lifecycle_stage": pa.array(
                    [row.lifecycle_stage for row in campaigns], pa.string()
                ),
                "starts_at": pa.array(
                    [row.starts_at.replace(tzinfo=None) for row in campaigns], pa.timestamp("us")
                ),
                "ends_at": pa.array(
                    [row.ends_at.replace(tzinfo=None) for row in campaigns], pa.timestamp("us")
                ),
                "holdout_percent": pa.array([row.holdout_percent for row in campaigns], pa.int64()),
                "fixed_cost_amount": pa.array(
                    [row.fixed_cost_amount for row in campaigns], pa.int64()
                ),
            }
        ),
    )
    staff = session.execute(
        select(Staff.id, Staff.username, Staff.display_name, Staff.store_id)
    ).all()
    con.register(
        "_dim_staff",
        pa.table(
            {
                "staff_id": pa.array([row.id for row in staff], pa.int64()),
                "name": pa.array([row.display_name or row.username for row in staff], pa.string()),
                "store_id": pa.array([row.store_id for row in staff], pa.int64()),
            }
        ),
    )
    stores = session.execute(select(Location.id, Location.code, Location.name, Location.kind)).all()
    con.register(
        "_dim_stores",
        pa.table(
            {
                "store_id": pa.array([row.id for row in stores], pa.int64()),
                "code": pa.array([row.code for row in stores], pa.string()),
                "name": pa.array([row.name for row in stores], pa.string()),
                "kind": pa.array([row.kind for row in stores], pa.string()),
            }
        ),
    )
    for name in ("channel_codes", "campaigns", "staff", "stores"):
        con.execute(f"CREATE TEMP VIEW a_{name} AS SELECT * FROM _dim_{name}")


# Opened databases by (warehouse, sync): registering the ~40 views reads Parquet
# footers and costs 75–250 ms on the benchmark warehouse, a quarter of a dashboard's
# 500 ms. Each request takes a cursor of the database of the current sync (cursors
# share its views and caches, and run in parallel); a sync makes a new key, and the
# old database goes when its last cursor closes. A few entries: tests open many
# small warehouses, a server one.
_DATABASES: OrderedDict[tuple[Any, ...], duckdb.DuckDBPyConnection] = OrderedDict()
_DATABASES_KEPT = 3
KEEP_WRITTEN_JOIN_ORDER = "build_side_probe_side"
_databases_lock = threading.Lock()


def _database_key(warehouse: Warehouse, manifest: state.Manifest) -> tuple[Any, ...]:
    derived = warehouse.root / "derived"
    names = sorted(path.name for path in derived.glob("*.parquet")) if derived.is_dir() else []
    return (
        str(warehouse.root.resolve()),
        manifest.seq,
        manifest.last_sync_at,
        warehouse.threads,
        warehouse.memory_limit,
        tuple(names),
    )


def _cursor_of_current_sync(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """A new cursor of the database of the warehouse's current sync (its views and
    ``a_firsts`` registered). Cursors are taken under the lock: a connection object
    is not safe to use from two threads at once, its cursors are."""
    manifest = state.load(warehouse.root)
    with _databases_lock:
        key = _database_key(warehouse, manifest)
        database = _DATABASES.get(key)
        if database is not None:
            _DATABASES.move_to_end(key)
            return database.cursor()
        database = warehouse.open_duckdb()
        try:
            # Global to the database (DuckDB cannot set it per cursor), so it is set
            # here once rather than around single statements, where concurrent
            # requests would race on it. Through the warehouse views DuckDB estimates a
            # filtered events scan at one row and builds its hash table on 8 M events
            # instead of a few thousand customers (traffic map 1.6–3 s → 0.5 s on the
            # benchmark); every analytics statement puts the small side of a join on
            # the right, so the written order is the one to keep.
            database.execute(f"SET disabled_optimizers = '{KEEP_WRITTEN_JOIN_ORDER}'")
            warehouse.register_views(database, manifest)
            # Same manifest as the views, so the stored firsts describe the same sync.
            register_firsts(database, warehouse, manifest)
        except BaseException:
            database.close()
            raise
        # Only the latest sync of a warehouse is kept: each database may hold up to
        # its memory limit in buffers, and requests in flight keep an older one alive
        # through their cursors anyway.
        for stale in [known for known in _DATABASES if known[0] == key[0]]:
            del _DATABASES[stale]
        # The key again: register_firsts may just have written analytics_firsts.
        _DATABASES[_database_key(warehouse, manifest)] = database
        while len(_DATABASES) > _DATABASES_KEPT:
            _DATABASES.popitem(last=False)
        return database.cursor()


def open_analytics(
    warehouse: Warehouse, session: Session, *, scope: DataScope, timezone: str, today: date
) -> Analytics:
    """Open the analytics connection for one request or job; the caller closes it.

    A cursor of the current sync's shared database; the dimensions and the scoped
    facts (``a_orders``, ``a_events``) are this cursor's own temporary views."""
    con = _cursor_of_current_sync(warehouse)
    try:
        _register_dimensions(con, session)
        paid_local_day = local_day_sql("o.paid_at", timezone, around=today)
        event_local_day = local_day_sql("e.occurred_at", timezone, around=today)
        con.execute(
            f"""CREATE TEMP VIEW a_orders AS
            SELECT o.order_id, o.customer_id, o.paid_at, {paid_local_day} AS local_day,
                   o.created_at, {GMV_SQL} AS gmv, o.paid_amount, o.refunded_amount,
                   o.items_amount, o.discount_amount, o.shipping_amount, o.item_count AS units,
                   o.touchpoint, o.channel_code_id,
                   COALESCE(cc.source_group, '{UNKNOWN_GROUP}') AS channel_group,
                   o.guide_id, o.campaign_id, o.store_id, o.referrer_customer_id,
                   o.order_id = f.first_order_id AS is_first_order, f.first_paid_at,
                   m.customer_id IS NOT NULL AND m.joined_at <= o.paid_at AS is_member,
                   m.tier_id, t.ops_stage AS lifecycle_stage, o.day
            FROM orders o
            JOIN a_firsts f ON f.customer_id = o.customer_id
            LEFT JOIN _dim_channel_codes cc ON cc.channel_code_id = o.channel_code_id
            LEFT JOIN memberships m ON m.customer_id = o.customer_id
            LEFT JOIN traits t ON t.customer_id = o.customer_id
            WHERE o.paid_at IS NOT NULL AND {order_scope_sql(scope)}"""
        )
        customer_filter = ""
        if scope.kind is not ScopeKind.ALL:
            customer_filter = (
                " AND e.customer_id IN (SELECT c.customer_id FROM customers c WHERE "
                f"{customer_scope_sql(scope, 'c')})"
            )
        con.execute(
            f"""CREATE TEMP VIEW a_events AS
            SELECT e.id, e.customer_id, e.type, e.occurred_at, {event_local_day} AS local_day,
                   e.touchpoint, e.channel_code_id, e.campaign_id, e.guide_id, e.product_id,
                   e.category_id, e.properties, e.day
            FROM events e WHERE e.customer_id IS NOT NULL{customer_filter}"""
        )
    except BaseException:
        con.close()
        raise
    return Analytics(con=con, timezone=timezone, today=today, scope=scope)
