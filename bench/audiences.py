"""Audiences at scale: warehouse export, full and incremental refresh, RFM vs pandas.

Generates a brand of 1,000,000 customers, 10,000,000 orders (~15 M order lines,
~2 M used coupons) and 50,000,000 tracked events over 180 days (``bench/audiences_data.py``:
power-law skew, 口红 product views, subscribe opt-ins, coupon claims) straight into
the warehouse's Parquet layout with DuckDB (``COPY … PARTITION_BY (day)``), with a
manifest written through ``siyu.warehouse.state`` as a completed sync would leave it,
plus the OLTP side the audience engine writes to (SQLite: the 1 M customers, WeCom
links, manual tags, 20 rule segments). Then, each heavy step in its own child process
so its peak RSS (Python + DuckDB) is its own:

a. **export rate**: a realistic OLTP slice (200 k orders with lines, coupons, points,
   2 M events, 100 k customers with identities) inserted into a fresh SQLite file,
   exported by ``siyu.warehouse.export.sync`` into an empty warehouse (rows/s);
b. **full recompute**: ``siyu.audiences.refresh.refresh_all`` over everyone — traits,
   RFM, both lifecycle models, the RFM tags and the 20 segments (goal ≤ 60 s wall,
   peak RSS ≤ 4 GB), split by step: first on an OLTP database without traits or
   memberships (every row written), then again (b', the scheduled steady state);
c. **incremental**: 100,000 new events inserted into the OLTP database, then
   ``export.sync`` + ``refresh_all(customer_ids=touched)`` (goal ≤ 5 s), each event's
   customer drawn on its own (the worst case: ~89 k customers touched); then (c2) the
   same with the events arriving in visits of 16, as live traffic does;
d. **RFM, DuckDB vs pandas**: the same RFM (recency, frequency, monetary over paid
   orders; quintile scores by rank with ties sharing the lower score; the 8 groups)
   in DuckDB over the warehouse views and in pandas over the same Parquet files;
   the groups must agree exactly; time and peak RSS ratios.

    .venv/bin/python bench/audiences.py                 # full size (~20–30 min, ~6 GB disk)
    .venv/bin/python bench/audiences.py --scale 0.05    # quick check
    .venv/bin/python bench/audiences.py --customers 200000 --orders 2000000 --events 10000000

The data lives in a temporary directory, removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import audiences_data as data
import duckdb

from siyu.core.migrations import upgrade

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC).replace(tzinfo=None)  # naive UTC: DuckDB's time
# When the benchmark's syncs and refreshes run (aware: the OLTP writes need it).
SYNC_AT = (NOW + timedelta(minutes=15)).replace(tzinfo=UTC)
FULL_GOAL_SECONDS = 60.0
RSS_GOAL_BYTES = 4 * 1024**3
INCREMENTAL_GOAL_SECONDS = 5.0
# Events per visit in (c2): a mini-program visit of pages, product views and a cart.
SESSION_EVENTS = 16
RESULT_PREFIX = "RESULT "
FULL_SIZE = (1_000_000, 10_000_000, 50_000_000)


def _rss_bytes() -> int:
    """Peak resident memory of this process, DuckDB's included.

    VmHWM, not ``getrusage``: Linux carries ru_maxrss across exec, so a child would
    report the parent's peak at fork time (the generation's) instead of its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _gib(value: float) -> str:
    return f"{value / 1024**3:.2f} GiB"


def _duck(threads: int = 2, memory: str = "6GB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    con.execute(f"SET memory_limit='{memory}'")
    con.execute("SET preserve_insertion_order=false")
    # One file per day partition, as the exporter writes (730 days of orders).
    con.execute("SET partitioned_write_max_open_files=1000")
    data.setup(con, NOW)
    return con


def _oltp_connection(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-500000")
    return connection


# ---------------------------------------------------------------- the Parquet side


def generate_warehouse(root: Path, sizes: data.Sizes) -> dict[str, int]:
    """Write every warehouse table in the exporter's layout, then its manifest."""
    import warehouse_layout as layout

    con = _duck()
    counts: dict[str, int] = {}
    try:
        for name, select_sql in _tables(sizes).items():
            began = time.perf_counter()
            counts[name] = layout.write_table(con, root, name, select_sql, now=NOW)
            print(
                f"  {name:<12} {counts[name]:>12,} rows in {time.perf_counter() - began:6.1f} s",
                flush=True,
            )
        layout.write_manifest(root, now=NOW)
    finally:
        con.close()
    return counts


def _tables(sizes: data.Sizes) -> dict[str, str]:
    return {
        "categories": data.categories(),
        "products": data.products(),
        "tiers": data.tiers(),
        "customers": data.customers(sizes),
        "identities": data.identities(sizes),
        "staff_links": data.staff_links(sizes),
        "memberships": data.memberships(sizes),
        "orders": data.orders(sizes),
        "order_lines": data.order_lines(sizes),
        "coupons": data.coupons(sizes),
        "points": data.points(sizes),
        "events": data.events(sizes),
    }


# ---------------------------------------------------------------- the OLTP side

STAFF_SQL = (
    "INSERT INTO staff (id, username, display_name, is_active, language, session_generation, "
    "created_at, updated_at) VALUES (?, ?, ?, 1, 'zh-CN', 0, ?, ?)"
)
SKIN_TAGS = ("干性", "油性", "混合", "敏感")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate_oltp(path: Path, sizes: data.Sizes) -> dict[str, int]:
    """The OLTP rows the audience engine reads or writes besides the warehouse:
    customers (traits and memberships point at them), guides and their WeCom links
    (the rule language reads active links from here), manual tags."""
    upgrade(f"sqlite:///{path}")
    database = _oltp_connection(path)
    con = _duck()
    stamp = _stamp(NOW)
    counts: dict[str, int] = {}
    try:
        database.execute("BEGIN")
        database.executemany(
            STAFF_SQL,
            [(n, f"guide{n:02d}", f"导购{n:02d}", stamp, stamp) for n in range(1, data.GUIDES + 1)],
        )
        database.execute(
            "INSERT INTO tag_group (id, name, description, is_exclusive, sort_order, created_at, "
            "updated_at) VALUES (1, '肤质', '', 1, 0, ?, ?)",
            (stamp, stamp),
        )
        database.executemany(
            "INSERT INTO tag (id, group_name, name, kind, description, customer_count, "
            "created_at, updated_at) VALUES (?, '肤质', ?, 'manual', '', 0, ?, ?)",
            [(n, name, stamp, stamp) for n, name in enumerate(SKIN_TAGS, 1)],
        )
        database.execute("COMMIT")
        counts["customers"] = data.load_sqlite(con, database, "customer", data.customers(sizes))
        counts["staff_links"] = data.load_sqlite(
            con, database, "customer_staff_link", data.staff_links(sizes)
        )
        tags = (
            f"SELECT i AS customer_id, 1 + hash(i, 61) % {len(SKIN_TAGS)} AS tag_id, "
            "'staff:guide01' AS source, ago(u(i, 62) * 300) AS added_at "
            f"FROM range(1, {sizes.customers + 1}) t(i) WHERE u(i, 63) < 0.4"
        )
        counts["customer_tags"] = data.load_sqlite(con, database, "customer_tag", tags)
        database.execute(
            "UPDATE tag SET customer_count = (SELECT count(*) FROM customer_tag "
            "WHERE tag_id = tag.id)"
        )
    finally:
        con.close()
        database.close()
    return counts


def segment_rules() -> list[tuple[str, dict[str, Any]]]:
    """Twenty realistic rule segments: traits, tags, identities, attributes and event
    conditions with windows, counts and property filters, nested all/any/not."""
    month = NOW.month
    return [
        (
            "口红浏览未购",
            {
                "all": [
                    {
                        "event": "product_view",
                        "where": [{"property": "category", "op": "=", "value": "口红"}],
                        "count": {"op": ">=", "value": 3},
                        "window": {"days": 7},
                    },
                    {"event": "order", "count": {"op": "=", "value": 0}, "window": {"days": 7}},
                ]
            },
        ),
        (
            "沉睡金卡会员",
            {
                "all": [
                    {"attribute": "tier", "op": "in", "value": ["gold", "platinum"]},
                    {"trait": "days_since_last_order", "op": ">", "value": 60},
                ]
            },
        ),
        (
            "新客未复购",
            {
                "all": [
                    {"trait": "orders_total", "op": "=", "value": 1},
                    {"trait": "first_order_at", "op": "within_days", "value": 90},
                ]
            },
        ),
        ("重要挽留", {"trait": "rfm_group", "op": "=", "value": "important_retain"}),
        ("重要价值", {"trait": "rfm_group", "op": "=", "value": "important_value"}),
        (
            "优惠券敏感",
            {
                "all": [
                    {"trait": "coupon_order_share", "op": ">=", "value": 5000},
                    {"trait": "orders_total", "op": ">=", "value": 2},
                ]
            },
        ),
        (
            "企微好友未购",
            {
                "all": [
                    {"identity": "wecom_contact", "has": True},
                    {"trait": "orders_total", "op": "=", "value": 0},
                ]
            },
        ),
        (
            "公众号粉丝无小程序购买",
            {
                "all": [
                    {"identity": "oa_openid", "has": True},
                    {
                        "event": "order",
                        "where": [{"property": "touchpoint", "op": "=", "value": "mp"}],
                        "count": {"op": "=", "value": 0},
                        "window": {"days": 365},
                    },
                ]
            },
        ),
        ("本月生日", {"attribute": "birthday_month", "op": "=", "value": month}),
        ("年消费过千", {"trait": "spend_365d", "op": ">=", "value": 100_000}),
        (
            "加购未下单",
            {
                "all": [
                    {"event": "add_to_cart", "window": {"days": 3}},
                    {"event": "order", "count": {"op": "=", "value": 0}, "window": {"days": 3}},
                ]
            },
        ),
        ("订阅消息可触达", {"identity": "subscribed", "has": True}),
        (
            "油皮看护肤",
            {
                "all": [
                    {"tag": 2, "has": True},
                    {
                        "event": "product_view",
                        "where": [{"property": "category", "op": "=", "value": "护肤"}],
                        "window": {"days": 30},
                    },
                ]
            },
        ),
        (
            "江浙沪女性",
            {
                "all": [
                    {"attribute": "city", "op": "in", "value": ["上海", "杭州", "南京", "苏州"]},
                    {"attribute": "gender", "op": "=", "value": "female"},
                ]
            },
        ),
        ("沉睡客户", {"trait": "ops_stage", "op": "in", "value": ["dormant", "churned"]}),
        ("兴趣期", {"trait": "aipl_stage", "op": "=", "value": "interested"}),
        (
            "高频访问",
            {"event": "page_view", "count": {"op": ">=", "value": 10}, "window": {"days": 30}},
        ),
        (
            "分享达人",
            {
                "any": [
                    {"event": "share", "count": {"op": ">=", "value": 3}, "window": {"days": 90}},
                    {"trait": "preferred_touchpoint", "op": "=", "value": "wecom"},
                ]
            },
        ),
        (
            "领券未用",
            {
                "all": [
                    {"event": "coupon_claimed", "window": {"days": 30}},
                    {"trait": "coupon_order_share", "op": "=", "value": 0},
                    {"not": {"tag": 4, "has": True}},
                ]
            },
        ),
        (
            "搜索口红",
            {
                "event": "search",
                "where": [{"property": "properties.query", "op": "=", "value": "口红"}],
                "count": {"op": ">=", "value": 2},
                "window": {"days": 14},
            },
        ),
    ]


def create_segments(path: Path) -> int:
    """Save the 20 segments through the segment service (each rule validated)."""
    from siyu.audiences.segments import service as segments
    from siyu.audiences.segments.schemas import SegmentIn
    from siyu.core.db import make_engine, make_session_factory, transaction
    from siyu.staff.principal import command_line_principal

    engine = make_engine(f"sqlite:///{path}")
    actor = command_line_principal("bench")
    try:
        with transaction(make_session_factory(engine)) as session:
            for name, rule in segment_rules():
                segments.create(session, actor, SegmentIn(name=name, rule=rule))
    finally:
        engine.dispose()
    return len(segment_rules())


def insert_new_events(
    path: Path, sizes: data.Sizes, count: int, *, after: int = 0, session_events: int = 1
) -> float:
    """``count`` events received after the last sync, into the OLTP tracked_event table
    (ids after the base's and ``after`` earlier new ones; ``session_events``: see
    ``audiences_data.events``)."""
    fresh = data.Sizes(
        customers=sizes.customers, orders=0, events=count, first_event=sizes.events + 1 + after
    )
    con = _duck()
    database = _oltp_connection(path)
    began = time.perf_counter()
    try:
        # Received in the 10 minutes after the manifest's "now", occurred just before.
        select_sql = data.events(
            fresh, days=0.007, received_lag_seconds=600, session_events=session_events
        )
        data.load_sqlite(con, database, "tracked_event", select_sql)
    finally:
        con.close()
        database.close()
    return time.perf_counter() - began


# ---------------------------------------------------------------- child processes


def _child(name: str, work: Path, sizes: data.Sizes) -> dict[str, Any]:
    steps: dict[str, Callable[[Path, data.Sizes], dict[str, Any]]] = {
        "export": child_export,
        "full": child_full,
        "incremental": child_incremental,
        "rfm-duckdb": child_rfm_duckdb,
        "rfm-pandas": child_rfm_pandas,
    }
    result = steps[name](work, sizes)
    result["peak_rss"] = _rss_bytes()
    return result


def _warehouse(root: Path) -> Any:
    from siyu.warehouse.engine import Warehouse

    return Warehouse(root, threads=2, memory_limit="3GB")


def child_export(work: Path, sizes: data.Sizes) -> dict[str, Any]:
    from siyu.core.db import make_engine
    from siyu.warehouse import export

    engine = make_engine(f"sqlite:///{work / 'slice.db'}")
    try:
        result = export.sync(engine, _warehouse(work / "slice-warehouse"), now=SYNC_AT)
    finally:
        engine.dispose()
    return {"rows": dict(result.rows), "seconds": result.seconds}


def _refresh(work: Path, customer_ids: Any) -> dict[str, Any]:
    import siyu.audiences.rules
    import siyu.audiences.traits  # noqa: F401 - imported before the clock starts
    from siyu.audiences import refresh
    from siyu.core.db import make_engine, make_session_factory, transaction

    engine = make_engine(f"sqlite:///{work / 'oltp.db'}")
    wh = _warehouse(work / "warehouse")
    began = time.perf_counter()
    try:
        with transaction(make_session_factory(engine)) as session:
            summary = refresh.refresh_all(session, wh, now=SYNC_AT, customer_ids=customer_ids)
            computed = time.perf_counter() - began
        committed = time.perf_counter() - began
    finally:
        engine.dispose()
    return {"summary": _plain(summary), "compute": computed, "seconds": committed}


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {key: _plain(getattr(value, key)) for key in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def child_full(work: Path, sizes: data.Sizes) -> dict[str, Any]:
    return _refresh(work, None)


def child_incremental(work: Path, sizes: data.Sizes) -> dict[str, Any]:
    import siyu.audiences.refresh
    import siyu.audiences.rules
    import siyu.audiences.traits  # noqa: F401 - imported before the clock starts
    from siyu.core.db import make_engine
    from siyu.warehouse import export

    engine = make_engine(f"sqlite:///{work / 'oltp.db'}")
    began = time.perf_counter()
    try:
        synced = export.sync(engine, _warehouse(work / "warehouse"), now=SYNC_AT)
    finally:
        engine.dispose()
    sync_seconds = time.perf_counter() - began
    touched = synced.touched_customer_ids
    result = _refresh(work, touched)
    result.update(
        sync_seconds=sync_seconds,
        sync_rows=dict(synced.rows),
        touched=len(touched),
        total=time.perf_counter() - began,
    )
    return result


# Quintile score by rank: score = 1 + floor(5 · (rank - 1) / n), rank = min rank of ties
# (equal values share the lower score). Recency scores in reverse: recent = 5.
RFM_GROUPS = {
    (True, True, True): "important_value",
    (False, True, True): "important_keep",
    (True, False, True): "important_develop",
    (False, False, True): "important_retain",
    (True, True, False): "general_value",
    (False, True, False): "general_keep",
    (True, False, False): "general_develop",
    (False, False, False): "general_retain",
}
RFM_SQL = """
WITH base AS (
  SELECT customer_id,
         floor((epoch(?::TIMESTAMP) - epoch(max(paid_at))) / 86400)::BIGINT AS recency_days,
         count(*) AS frequency, sum(paid_amount - refunded_amount) AS monetary
  FROM orders WHERE paid_at IS NOT NULL GROUP BY customer_id
), scored AS (
  SELECT customer_id,
    1 + floor(5 * (rank() OVER (ORDER BY recency_days DESC) - 1) / count(*) OVER ())::INT AS r,
    1 + floor(5 * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER ())::INT AS f,
    1 + floor(5 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER ())::INT AS m
  FROM base
)
SELECT CASE WHEN r >= 3 THEN 'T' ELSE 'F' END || CASE WHEN f >= 3 THEN 'T' ELSE 'F' END
       || CASE WHEN m >= 3 THEN 'T' ELSE 'F' END AS code, count(*) AS customers
FROM scored GROUP BY code ORDER BY code
"""


def _group_counts(rows: list[tuple[str, int]]) -> dict[str, int]:
    flag = {"T": True, "F": False}
    return {RFM_GROUPS[tuple(flag[c] for c in code)]: int(n) for code, n in rows}  # type: ignore[index]


def child_rfm_duckdb(work: Path, sizes: data.Sizes) -> dict[str, Any]:
    wh = _warehouse(work / "warehouse")
    began = time.perf_counter()
    with wh.connect() as con:
        rows = con.execute(RFM_SQL, [SYNC_AT.replace(tzinfo=None)]).fetchall()
    return {"seconds": time.perf_counter() - began, "groups": _group_counts(rows)}


def child_rfm_pandas(work: Path, sizes: data.Sizes) -> dict[str, Any]:
    import pandas as pd
    import warehouse_layout as layout

    began = time.perf_counter()
    orders = layout.read_orders_pandas(work / "warehouse")
    paid = orders[orders["paid_at"].notna()]
    paid = paid.assign(net=paid["paid_amount"] - paid["refunded_amount"])
    base = paid.groupby("customer_id").agg(
        last=("paid_at", "max"), frequency=("paid_at", "size"), monetary=("net", "sum")
    )
    base["recency_days"] = (pd.Timestamp(SYNC_AT.replace(tzinfo=None)) - base["last"]).dt.days
    n = len(base)

    def score(column: pd.Series, ascending: bool) -> pd.Series:
        ranks = column.rank(method="min", ascending=ascending)
        return 1 + (5 * (ranks - 1) // n).astype(int)

    high_r = score(base["recency_days"], ascending=False) >= 3
    high_f = score(base["frequency"], ascending=True) >= 3
    high_m = score(base["monetary"], ascending=True) >= 3
    codes = (
        high_r.map({True: "T", False: "F"})
        + high_f.map({True: "T", False: "F"})
        + high_m.map({True: "T", False: "F"})
    )
    rows = list(codes.value_counts().sort_index().items())
    return {"seconds": time.perf_counter() - began, "groups": _group_counts(rows)}


def _steps(summary: dict[str, Any]) -> str:
    """The refresh's time by step, and its slowest segments (by name)."""
    names = {n: name for n, (name, _rule) in enumerate(segment_rules(), 1)}
    timed = sorted(
        (
            (item["seconds"], names.get(item["segment_id"], item["segment_id"]))
            for item in summary.get("segments", [])
        ),
        reverse=True,
    )
    slowest = ", ".join(f"{name} {seconds:.2f} s" for seconds, name in timed[:4])
    failed = [item["segment_id"] for item in summary.get("segments", []) if not item["ok"]]
    sizes = [item["member_count"] for item in summary.get("segments", [])]
    return (
        f"steps {summary.get('stages')}; {len(sizes)} segments ({min(sizes, default=0):,}–"
        f"{max(sizes, default=0):,} members, failed: {failed or 'none'}), slowest: {slowest}; "
        f"traits changed {summary.get('traits_changed', 0):,}; rule-tag errors: "
        f"{len(summary.get('tag_errors', {}))}"
    )


def run_child(name: str, work: Path, arguments: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--work",
        str(work),
        "--customers",
        str(arguments.customers),
        "--orders",
        str(arguments.orders),
        "--events",
        str(arguments.events),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX) :]))
    lines = (completed.stdout + completed.stderr).splitlines()
    sys.stderr.write("\n".join(line[:400] for line in lines[-60:]) + "\n")
    raise RuntimeError(f"child {name} failed (exit {completed.returncode})")


# ---------------------------------------------------------------- the run


def _slice_sizes(sizes: data.Sizes, scale: float) -> data.Sizes:
    return data.Sizes(
        customers=max(1_000, int(100_000 * scale)),
        orders=max(1_000, int(200_000 * scale)),
        events=max(10_000, int(2_000_000 * scale)),
    )


def generate_slice(path: Path, sizes: data.Sizes) -> dict[str, int]:
    """The export benchmark's OLTP database: every exported table, realistic rows."""
    upgrade(f"sqlite:///{path}")
    database = _oltp_connection(path)
    con = _duck()
    counts: dict[str, int] = {}
    oltp_tables = {
        "categories": "category",
        "products": "product",
        "tiers": "member_tier",
        "customers": "customer",
        "identities": "customer_identity",
        "memberships": "membership",
        "orders": "order",
        "order_lines": "order_line",
        "coupons": "coupon",
        "points": "points_entry",
        "events": "tracked_event",
    }
    try:
        database.execute("PRAGMA foreign_keys=OFF")
        for name, select_sql in _tables(sizes).items():
            if name in oltp_tables:
                counts[name] = data.load_sqlite(con, database, oltp_tables[name], select_sql)
    finally:
        con.close()
        database.close()
    return counts


def _machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {_gib(memory)} RAM, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def _timed(label: str, work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    value = work()
    seconds = time.perf_counter() - began
    print(f"{label}: {seconds:.1f} s", flush=True)
    return value, seconds


def main_run(arguments: argparse.Namespace) -> None:
    sizes = data.Sizes(arguments.customers, arguments.orders, arguments.events)
    parent = Path(arguments.tmp) if arguments.tmp else None
    work = Path(tempfile.mkdtemp(prefix="siyu-bench-audiences-", dir=parent))
    print(f"machine: {_machine()}; load average {os.getloadavg()[0]:.1f}")
    if (arguments.customers, arguments.orders, arguments.events) != FULL_SIZE:
        print("(the goals below are the issue's, for the full size)")
    print(
        f"brand: {sizes.customers:,} customers, {sizes.orders:,} orders, "
        f"{sizes.events:,} events; work dir {work}",
        flush=True,
    )
    try:
        counts, _ = _timed(
            "warehouse generation", lambda: generate_warehouse(work / "warehouse", sizes)
        )
        size = sum(f.stat().st_size for f in (work / "warehouse").rglob("*") if f.is_file())
        print(f"  warehouse on disk: {_gib(size)} ({sum(counts.values()):,} rows)", flush=True)
        oltp, _ = _timed("OLTP (SQLite) generation", lambda: generate_oltp(work / "oltp.db", sizes))
        print(f"  {oltp}")
        create_segments(work / "oltp.db")
        slice_sizes = _slice_sizes(sizes, arguments.scale)
        sliced, _ = _timed(
            "export slice into SQLite", lambda: generate_slice(work / "slice.db", slice_sizes)
        )
        report(work, arguments, sliced)
    finally:
        if arguments.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(work: Path, arguments: argparse.Namespace, sliced: dict[str, int]) -> None:
    exported = run_child("export", work, arguments)
    rows = sum(exported["rows"].values())
    print(
        f"\n(a) export.sync of the slice: {rows:,} rows in {exported['seconds']:.1f} s = "
        f"{rows / exported['seconds']:,.0f} rows/s (events {exported['rows'].get('events', 0):,}, "
        f"orders {exported['rows'].get('orders', 0):,}); peak RSS {_gib(exported['peak_rss'])}",
        flush=True,
    )
    full = run_child("full", work, arguments)
    print(
        f"(b) full refresh_all: {full['seconds']:.1f} s wall (compute {full['compute']:.1f} s, "
        f"commit {full['seconds'] - full['compute']:.1f} s); peak RSS {_gib(full['peak_rss'])}"
    )
    print(f"    {_steps(full['summary'])}")
    print(
        f"    goal <= {FULL_GOAL_SECONDS:.0f} s: "
        f"{'met' if full['seconds'] <= FULL_GOAL_SECONDS else 'NOT met'}; "
        f"goal RSS <= 4 GiB: {'met' if full['peak_rss'] <= RSS_GOAL_BYTES else 'NOT met'}",
        flush=True,
    )
    # The scheduled full refresh of a running system: the same data again, so traits,
    # stages and memberships barely change and the OLTP writes are small.
    again = run_child("full", work, arguments)
    print(
        f"(b') full refresh_all again (steady state): {again['seconds']:.1f} s wall; peak RSS "
        f"{_gib(again['peak_rss'])}; goal <= {FULL_GOAL_SECONDS:.0f} s: "
        f"{'met' if again['seconds'] <= FULL_GOAL_SECONDS else 'NOT met'}"
    )
    print(f"    {_steps(again['summary'])}", flush=True)
    sizes = data.Sizes(arguments.customers, arguments.orders, arguments.events)
    new_events = max(1_000, int(100_000 * arguments.scale))
    inserted = insert_new_events(work / "oltp.db", sizes, new_events)
    incremental = run_child("incremental", work, arguments)
    print(
        f"(c) {new_events:,} new events (inserted in {inserted:.1f} s): sync "
        f"{incremental['sync_seconds']:.2f} s + refresh of {incremental['touched']:,} touched "
        f"customers {incremental['seconds']:.2f} s = {incremental['total']:.2f} s; "
        f"peak RSS {_gib(incremental['peak_rss'])}; goal <= {INCREMENTAL_GOAL_SECONDS:.0f} s: "
        f"{'met' if incremental['total'] <= INCREMENTAL_GOAL_SECONDS else 'NOT met'}"
    )
    print(f"    {_steps(incremental['summary'])}", flush=True)
    # The same volume as live traffic brings it: visits of SESSION_EVENTS events each,
    # so far fewer customers are touched than by (c)'s independently drawn events.
    inserted = insert_new_events(
        work / "oltp.db", sizes, new_events, after=new_events, session_events=SESSION_EVENTS
    )
    visits = run_child("incremental", work, arguments)
    print(
        f"(c2) {new_events:,} new events in visits of {SESSION_EVENTS} (inserted in "
        f"{inserted:.1f} s): sync {visits['sync_seconds']:.2f} s + refresh of "
        f"{visits['touched']:,} touched customers {visits['seconds']:.2f} s = "
        f"{visits['total']:.2f} s; peak RSS {_gib(visits['peak_rss'])}; goal <= "
        f"{INCREMENTAL_GOAL_SECONDS:.0f} s: "
        f"{'met' if visits['total'] <= INCREMENTAL_GOAL_SECONDS else 'NOT met'}"
    )
    print(f"    {_steps(visits['summary'])}", flush=True)
    duck = run_child("rfm-duckdb", work, arguments)
    pandas = run_child("rfm-pandas", work, arguments)
    same = duck["groups"] == pandas["groups"]
    print(
        f"(d) RFM over {arguments.orders:,} orders: DuckDB {duck['seconds']:.2f} s, "
        f"peak RSS {_gib(duck['peak_rss'])}; pandas {pandas['seconds']:.2f} s, peak RSS "
        f"{_gib(pandas['peak_rss'])}; pandas / DuckDB = {pandas['seconds'] / duck['seconds']:.1f}x "
        f"time, {pandas['peak_rss'] / duck['peak_rss']:.1f}x memory; groups identical: {same}"
    )
    print(f"    groups: {json.dumps(duck['groups'], ensure_ascii=False)}", flush=True)
    if not same:
        print(f"    pandas groups: {pandas['groups']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--customers", type=int)
    parser.add_argument("--orders", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--tmp", help="parent of the work dir (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    arguments.customers = arguments.customers or int(1_000_000 * arguments.scale)
    arguments.orders = arguments.orders or int(10_000_000 * arguments.scale)
    arguments.events = arguments.events or int(50_000_000 * arguments.scale)
    if arguments.child:
        sizes = data.Sizes(arguments.customers, arguments.orders, arguments.events)
        result = _child(arguments.child, Path(arguments.work), sizes)
        print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)
        return
    main_run(arguments)


if __name__ == "__main__":
    main()
