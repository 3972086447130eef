"""The one DuckDB engine over the warehouse's Parquet files (docs/warehouse.md).

``Warehouse.connect()`` opens a fresh in-memory DuckDB connection and registers a
view per table over the files the manifest lists (never a glob: files a killed
sync left behind are invisible). Every view exists on an empty warehouse too, with
zero rows and the documented columns, so rules and traits run before the first
export. Mutable tables are stored as versions; the views keep the latest version
per key and resolve every ``customer_id`` to the survivor of merges.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Boolean, Date, Float, Integer, Numeric, String, Text

from siyu.core import clock
from siyu.core.settings import Settings
from siyu.models.audience import CustomerTrait
from siyu.models.base import UTCDateTime
from siyu.warehouse import state
from siyu.warehouse.errors import InvalidDerivedName
from siyu.warehouse.tables import (
    BY_NAME,
    PARTITION_COLUMN,
    SEQ_COLUMN,
    SPECS,
    VERSION_COLUMN,
    TableSpec,
)

DERIVED_DIR = "derived"
TEMP_DIR = "_tmp"
DERIVED_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

_DUCK_TYPES: dict[pa.DataType, str] = {
    pa.int64(): "BIGINT",
    pa.string(): "VARCHAR",
    pa.timestamp("us"): "TIMESTAMP",
    pa.date32(): "DATE",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}

# Contract columns of each view (docs/warehouse.md), in order.
VIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_id",
        "status",
        "merged_into_id",
        "guide_id",
        "store_id",
        "gender",
        "city",
        "birthday",
        "first_touchpoint",
        "first_touch_channel_code_id",
        "first_touch_at",
        "last_touchpoint",
        "last_touch_at",
        "last_seen_at",
        "created_at",
        "updated_at",
    ),
    "identities": ("customer_id", "kind", "namespace", "created_at"),
    "staff_links": ("customer_id", "staff_id", "added_at", "removed_at"),
    "tiers": ("tier_id", "code", "name", "rank"),
    "memberships": ("customer_id", "tier_id", "growth_value", "points_balance", "joined_at"),
    "events": (
        "id",
        "event_id",
        "customer_id",
        "type",
        "occurred_at",
        "received_at",
        "touchpoint",
        "channel_code_id",
        "campaign_id",
        "guide_id",
        "product_id",
        "category_id",
        "properties",
        "day",
    ),
    "orders": tuple(
        column.name for column in BY_NAME["orders"].columns if column.name != "updated_at"
    )
    + ("updated_at", "day"),
    "order_lines": tuple(column.name for column in BY_NAME["order_lines"].columns),
    "coupons": tuple(column.name for column in BY_NAME["coupons"].columns),
    "points": tuple(column.name for column in BY_NAME["points"].columns),
    "products": ("product_id", "category_id", "name"),
    "categories": ("category_id", "parent_id", "name"),
}
# Views whose customer_id is resolved to the merge survivor.
_RESOLVED = ("identities", "staff_links", "memberships", "events", "orders", "order_lines")
_RESOLVED_ALSO = ("coupons", "points")
CORE_VIEWS = (*VIEW_COLUMNS, "live_customers")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def naive_utc(moment: datetime) -> datetime:
    """DuckDB's TIMESTAMP is naive UTC (the contract); accept aware or naive UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _duck_type_of_column(column: Any) -> str:
    column_type = column.type
    if isinstance(column_type, UTCDateTime):
        return "TIMESTAMP"
    if isinstance(column_type, Date):
        return "DATE"
    if isinstance(column_type, Boolean):
        return "BOOLEAN"
    if isinstance(column_type, Float | Numeric):
        return "DOUBLE"
    if isinstance(column_type, Integer):
        return "BIGINT"
    if isinstance(column_type, String | Text):
        return "VARCHAR"
    # Variants (BigIntegerPK) wrap an Integer.
    impl = getattr(column_type, "impl", None)
    if isinstance(impl, Integer):
        return "BIGINT"
    return "VARCHAR"


def traits_columns() -> list[tuple[str, str]]:
    """The ``traits`` view's columns before the first compute: customer_trait's."""
    return [
        (column.name, _duck_type_of_column(column)) for column in CustomerTrait.__table__.columns
    ]


def _empty_select(columns: list[tuple[str, str]]) -> str:
    parts = ", ".join(f"CAST(NULL AS {duck_type}) AS {name}" for name, duck_type in columns)
    return f"SELECT {parts} WHERE false"


class Warehouse:
    def __init__(self, root: Path, *, threads: int = 2, memory_limit: str = "3GB") -> None:
        self.root = Path(root)
        self.threads = threads
        self.memory_limit = memory_limit

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        root = settings.warehouse_dir or settings.data_dir / "warehouse"
        return cls(
            root, threads=settings.warehouse_threads, memory_limit=settings.warehouse_memory_limit
        )

    # Connections -----------------------------------------------------------------

    def open_duckdb(self) -> duckdb.DuckDBPyConnection:
        """A bare in-memory connection with the configured threads, memory and spill dir."""
        temp_dir = self.root / TEMP_DIR
        temp_dir.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(
            ":memory:",
            config={
                "threads": self.threads,
                "memory_limit": self.memory_limit,
                "temp_directory": str(temp_dir),
            },
        )

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new connection with every view registered; the caller closes it."""
        con = self.open_duckdb()
        try:
            self.register_views(con, state.load(self.root))
        except BaseException:
            con.close()
            raise
        return con

    def register_views(self, con: duckdb.DuckDBPyConnection, manifest: state.Manifest) -> None:
        for spec in SPECS:
            con.execute(f"CREATE VIEW _raw_{spec.name} AS {self._raw_sql(spec, manifest)}")
            con.execute(f"CREATE VIEW _latest_{spec.name} AS {self._latest_sql(spec, manifest)}")
        # One merged customer -> its survivor; two hops in case the snapshot holds a
        # survivor that was itself merged later.
        con.execute(
            "CREATE VIEW _survivor AS SELECT c.customer_id AS merged_id, "
            "COALESCE(c2.merged_into_id, c.merged_into_id) AS survivor_id "
            "FROM _latest_customers c LEFT JOIN _latest_customers c2 "
            "ON c2.customer_id = c.merged_into_id AND c2.merged_into_id IS NOT NULL "
            "WHERE c.merged_into_id IS NOT NULL"
        )
        columns = ", ".join(f"c.{name}" for name in VIEW_COLUMNS["customers"])
        con.execute(f"CREATE VIEW customers AS SELECT {columns} FROM _latest_customers c")
        con.execute("CREATE VIEW live_customers AS SELECT * FROM customers WHERE status = 'active'")
        for name in ("tiers", "products", "categories"):
            columns = ", ".join(f"x.{column}" for column in VIEW_COLUMNS[name])
            con.execute(f"CREATE VIEW {name} AS SELECT {columns} FROM _latest_{name} x")
        for name in (*_RESOLVED, *_RESOLVED_ALSO):
            columns = ", ".join(
                "COALESCE(s.survivor_id, x.customer_id) AS customer_id"
                if column == "customer_id"
                else f"x.{column}"
                for column in VIEW_COLUMNS[name]
            )
            where = ""
            if name == "identities":
                # Never the identities of an erased customer.
                where = (
                    " WHERE COALESCE(s.survivor_id, x.customer_id) NOT IN "
                    "(SELECT customer_id FROM _latest_customers WHERE status = 'erased')"
                )
            elif name == "memberships":
                # A merged customer's own membership is not the survivor's.
                where = " WHERE x.member_customer_id NOT IN (SELECT merged_id FROM _survivor)"
            con.execute(
                f"CREATE VIEW {name} AS SELECT {columns} FROM _latest_{name} x "
                f"LEFT JOIN _survivor s ON s.merged_id = x.customer_id{where}"
            )
        derived = self._derived_files()
        for name, path in derived.items():
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_string(str(path))})"
            )
        if "traits" not in derived:
            con.execute(f"CREATE VIEW traits AS {_empty_select(traits_columns())}")

    def pin_customers(self, con: duckdb.DuckDBPyConnection) -> None:
        """Materialise the latest customer versions and the merge survivors once on
        ``con`` for a run of many queries (an audience refresh).

        After an incremental sync the customers table has several files per key, so
        every read of ``customers``, ``live_customers`` and every customer-resolved
        view (events, orders …) deduplicates a million versions again: ~0.3 s per
        query, most of a restricted segment refresh. The views keep their names and
        read the pinned copies from here on; the connection must not outlive the
        manifest it was opened on (none does: connections are per run)."""
        con.execute("CREATE TEMP TABLE _pinned_customers AS SELECT * FROM _latest_customers")
        con.execute("CREATE OR REPLACE VIEW _latest_customers AS SELECT * FROM _pinned_customers")
        con.execute("CREATE TEMP TABLE _pinned_survivor AS SELECT * FROM _survivor")
        con.execute("CREATE OR REPLACE VIEW _survivor AS SELECT * FROM _pinned_survivor")

    def _raw_sql(self, spec: TableSpec, manifest: state.Manifest) -> str:
        files = manifest.table(spec.name).files
        if not files:
            columns = [(field.name, _DUCK_TYPES[field.type]) for field in spec.stored_schema()]
            if spec.partitioned:
                columns.append((PARTITION_COLUMN, "DATE"))
            return _empty_select(columns)
        paths = "[" + ", ".join(_sql_string(str(self.root / entry.path)) for entry in files) + "]"
        if spec.partitioned:
            # Hive partitions: a filter on `day` skips whole files.
            return (
                f"SELECT * FROM read_parquet({paths}, hive_partitioning = true, "
                f"hive_types = {{'{PARTITION_COLUMN}': DATE}})"
            )
        return f"SELECT * FROM read_parquet({paths})"

    def _latest_sql(self, spec: TableSpec, manifest: state.Manifest) -> str:
        files = manifest.table(spec.name).files
        per_partition: dict[str, int] = {}
        for entry in files:
            per_partition[entry.partition] = per_partition.get(entry.partition, 0) + 1
        # Each file holds one version per key and a key never changes partition, so
        # one file per partition needs no deduplication (the common, compacted case);
        # append-only rows (tracked events) are exported exactly once and never need it.
        if spec.append_only or max(per_partition.values(), default=0) <= 1:
            return f"SELECT * FROM _raw_{spec.name}"
        return (
            f"SELECT * FROM _raw_{spec.name} QUALIFY row_number() OVER "
            f"(PARTITION BY {spec.key} ORDER BY {SEQ_COLUMN} DESC) = 1"
        )

    # Derived tables --------------------------------------------------------------

    def _derived_files(self) -> dict[str, Path]:
        directory = self.root / DERIVED_DIR
        if not directory.is_dir():
            return {}
        return {
            path.stem: path
            for path in sorted(directory.glob("*.parquet"))
            if DERIVED_NAME.match(path.stem) and path.stem not in CORE_VIEWS
        }

    def derived_path(self, name: str) -> Path:
        """Where ``derived/<name>.parquet`` lives (it may not exist yet)."""
        return self._derived_path(name)

    def _derived_path(self, name: str) -> Path:
        if not DERIVED_NAME.match(name) or name in CORE_VIEWS:
            raise InvalidDerivedName(data={"name": name})
        return self.root / DERIVED_DIR / f"{name}.parquet"

    def write_derived(self, name: str, table: pa.Table) -> None:
        """Atomically replace ``derived/<name>.parquet`` (temp file, fsync, rename)."""
        state.atomic_write_parquet(self._derived_path(name), table)

    def read_derived(self, name: str) -> pa.Table | None:
        path = self._derived_path(name)
        if not path.exists():
            return None
        return pq.read_table(path)

    # Freshness -------------------------------------------------------------------

    def freshness(self, *, now: datetime | None = None) -> dict[str, Any]:
        """Rows stored and the age of the newest exported row, per table."""
        manifest = state.load(self.root)
        moment = naive_utc(now or clock.now())
        tables: dict[str, Any] = {}
        for spec in SPECS:
            table_state = manifest.table(spec.name)
            newest = table_state.newest
            age = None
            if newest is not None:
                age = max(0.0, (moment - datetime.fromisoformat(newest)).total_seconds())
            tables[spec.name] = {"rows": table_state.rows, "newest": newest, "age_seconds": age}
        return {"tables": tables, "last_sync_at": manifest.last_sync_at}

    def disk_bytes(self) -> int:
        total = 0
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                total += os.path.getsize(os.path.join(directory, name))
        return total


__all__ = ["VERSION_COLUMN", "Warehouse", "naive_utc"]
