"""Each customer's first paid order, materialised once per warehouse sync.

Every analytics view needs "is this the customer's first order?" and "when did they
first buy?", over every order the brand has (not only the caller's scope). Computed
inline it aggregates all orders on every query: 2.4 s for a month's GMV over 10 M
orders here, against 0.16 s without it. So it is written to the derived table
``analytics_firsts``, stamped with the manifest sequence of the sync it reflects; a
connection that finds the stamp stale (a sync happened since) recomputes and rewrites
it once, and the after-sync hook does that ahead of the first dashboard.
"""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from siyu.warehouse import state
from siyu.warehouse.engine import Warehouse
from siyu.warehouse.export import SyncResult
from siyu.warehouse.hooks import register_after_sync

FIRSTS_TABLE = "analytics_firsts"
STAMP_KEY = b"siyu.manifest_seq"

FIRSTS_SQL = (
    "SELECT o.customer_id, min(o.paid_at) AS first_paid_at, "
    "arg_min(o.order_id, o.paid_at) AS first_order_id, "
    "arg_min(o.channel_code_id, o.paid_at) AS first_channel_code_id, "
    "arg_min(o.touchpoint, o.paid_at) AS first_touchpoint, "
    "arg_min(o.store_id, o.paid_at) AS first_store_id, "
    "arg_min(o.guide_id, o.paid_at) AS first_guide_id, "
    "arg_min(o.campaign_id, o.paid_at) AS first_campaign_id "
    "FROM orders o WHERE o.paid_at IS NOT NULL GROUP BY o.customer_id"
)


def _stamp_of(warehouse: Warehouse) -> str | None:
    path = warehouse.derived_path(FIRSTS_TABLE)
    if not path.exists():
        return None
    metadata = pq.read_schema(path).metadata or {}
    value = metadata.get(STAMP_KEY)
    return value.decode() if value is not None else None


def register_firsts(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, manifest: state.Manifest
) -> None:
    """Create the view ``a_firsts`` on ``con``, whose views were registered from
    ``manifest``: from the stored table when it reflects that manifest, otherwise
    computed here (from the same views, so the stamp never lies) and stored."""
    stamp = str(manifest.seq)
    path = warehouse.derived_path(FIRSTS_TABLE)
    if _stamp_of(warehouse) != stamp:
        table = con.sql(FIRSTS_SQL).to_arrow_table()
        table = table.replace_schema_metadata({STAMP_KEY: stamp.encode()})
        warehouse.write_derived(FIRSTS_TABLE, table)
    quoted = str(path).replace("'", "''")
    con.execute(f"CREATE OR REPLACE VIEW a_firsts AS SELECT * FROM read_parquet('{quoted}')")


@register_after_sync
def refresh_after_sync(_session: Session, warehouse: Warehouse, _result: SyncResult) -> None:
    """Have the table ready before the first dashboard after a sync asks for it."""
    manifest = state.load(warehouse.root)
    con = warehouse.open_duckdb()
    try:
        warehouse.register_views(con, manifest)
        register_firsts(con, warehouse, manifest)
    finally:
        con.close()
