"""Analytics at scale: every dashboard query, cold and warm, and pandas for comparison.

Generates the audiences benchmark's brand (1,000,000 customers, 10,000,000 orders,
50,000,000 events) straight into the warehouse's Parquet layout, with what analytics
adds (``bench/analytics_data.py``: orders credited to channel codes, campaigns, guides,
stores and referrers; refunds; events of the funnel types; lifecycle stages; the OLTP
dimensions — stores, guides, channel codes of every kind, campaigns with touchpoints,
stages, holdouts and fixed costs — in SQLite). Then, for a 30-day and a 90-day period
ending yesterday (the previous period of the same length as the base), each dashboard
query runs in its own child process:

- **cold**: the first call in a fresh process on a fresh ``open_analytics`` connection
  (DuckDB's Parquet metadata and buffer caches empty; the OS page cache as the previous
  child left it, i.e. warm, unless ``--drop-caches`` drops it before every child);
- **warm**: then ``--runs`` (≥ 5) more calls, each as the API serves a request — a new
  ``open_analytics`` connection, the call, close — p50/p95/max.

Goals: p95 ≤ 500 ms warm, ≤ 3 s cold. For a query that misses the warm goal the child
records each SQL statement's time and profiles the slowest (DuckDB's JSON profile: the
operators that take the time). Last, a straightforward pandas implementation of the
driver tree and of the cohort table reads the same Parquet files; its time is printed
as a ratio to DuckDB's.

    .venv/bin/python bench/analytics.py                  # full size (~20 min, 2.4 GiB disk)
    .venv/bin/python bench/analytics.py --scale 0.05     # quick check
    .venv/bin/python bench/analytics.py --data /tmp/ab      # generate once, then reuse

The data lives in a temporary directory, removed at the end unless --keep or --data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import analytics_data as adata
import audiences_data as data
import duckdb

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC).replace(tzinfo=None)  # naive UTC
TIMEZONE = "Asia/Shanghai"
TODAY = date(2026, 11, 23)  # local date at NOW in Shanghai
WARM_GOAL = 0.5
COLD_GOAL = 3.0
RESULT_PREFIX = "RESULT "
FULL_SIZE = (1_000_000, 10_000_000, 50_000_000)
SLOW_COLD = 12.0


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- generation


def generate(root: Path, sizes: data.Sizes) -> dict[str, int]:
    import warehouse_layout as layout

    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute("SET enable_progress_bar=false")
    con.execute("SET memory_limit='6GB'")
    con.execute("SET preserve_insertion_order=false")
    con.execute("SET partitioned_write_max_open_files=1000")
    data.setup(con, NOW)
    counts: dict[str, int] = {}
    warehouse = root / "warehouse"
    try:
        for name, select_sql in adata.tables(sizes).items():
            began = time.perf_counter()
            counts[name] = layout.write_table(con, warehouse, name, select_sql, now=NOW)
            seconds = time.perf_counter() - began
            print(f"  {name:<12} {counts[name]:>12,} rows in {seconds:6.1f} s", flush=True)
        counts["traits"] = adata.write_traits(con, warehouse, sizes)
        layout.write_manifest(warehouse, now=NOW)
    finally:
        con.close()
    counts.update(adata.write_dimensions(root / "oltp.sqlite", NOW))
    (root / "sizes.json").write_text(json.dumps(counts))
    return counts


# ---------------------------------------------------------------- children


def run_child(arguments: argparse.Namespace, *extra: str) -> dict[str, Any]:
    if arguments.drop_caches:
        subprocess.run(["sync"], check=False)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    command = [
        sys.executable,
        __file__,
        "--data",
        str(arguments.data),
        "--runs",
        str(arguments.runs),
        *extra,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX) :]))
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-6:]
    return {"error": " | ".join(tail) or f"exit {completed.returncode}"}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def child_query(root: Path, name: str, days: int, runs: int) -> dict[str, Any]:
    """One query on one period: cold call, then warm calls each on a new connection."""
    import analytics_queries as queries

    context = queries.Context.open(root, days, timezone=TIMEZONE, today=TODAY)
    try:
        call = queries.QUERIES[name]
        began = time.perf_counter()
        analytics = context.connect()
        opened = time.perf_counter()
        call(context, analytics)
        cold = time.perf_counter() - began
        cold_open = opened - began
        analytics.close()
        warm: list[float] = []
        opens: list[float] = []
        # A query far over the goal gets two warm runs, so a full run stays ~20 min.
        for _ in range(runs if cold < SLOW_COLD else 2):
            began = time.perf_counter()
            analytics = context.connect()
            opened = time.perf_counter()
            call(context, analytics)
            warm.append(time.perf_counter() - began)
            opens.append(opened - began)
            analytics.close()
        result: dict[str, Any] = {
            "cold": cold,
            "cold_open": cold_open,
            "warm_p50": _percentile(warm, 0.5),
            "warm_p95": _percentile(warm, 0.95),
            "warm_max": max(warm),
            "open_p50": _percentile(opens, 0.5),
            "rss": _rss_bytes(),
            "runs": len(warm),
        }
        if result["warm_p95"] > WARM_GOAL:
            result["statements"] = queries.profile(context, call)
        return result
    finally:
        context.close()


BREAKDOWN = {
    # What every a_orders query pays before its own work: each customer's first paid
    # order over the whole history (a_firsts), recomputed per statement.
    "a_firsts (all orders, per customer)": "SELECT count(*), sum(first_order_id) FROM a_firsts",
    "a_orders in the period (joins a_firsts, memberships, traits)": (
        "SELECT count(*), sum(gmv) FROM a_orders o WHERE {orders}"
    ),
    "orders in the period (the raw view, no joins)": (
        "SELECT count(*), sum(o.paid_amount - o.refunded_amount) FROM orders o "
        "WHERE o.paid_at IS NOT NULL AND {orders}"
    ),
    "a_events visitors in the period": (
        "SELECT count(DISTINCT e.customer_id) FROM a_events e WHERE {events}"
    ),
}


def child_breakdown(root: Path, days: int, runs: int) -> dict[str, Any]:
    """Where an a_orders query's time goes: the building blocks, timed alone (warm)."""
    import analytics_queries as queries

    from siyu.analytics.connection import ORDER_PARTITION_SLACK_DAYS

    context = queries.Context.open(root, days, timezone=TIMEZONE, today=TODAY)
    period = context.current
    orders = period.where("o.paid_at", TIMEZONE, partition_slack_days=ORDER_PARTITION_SLACK_DAYS)
    events = period.where("e.occurred_at", TIMEZONE, partition_slack_days=0)
    figures: dict[str, Any] = {}
    try:
        opens = []
        for _ in range(runs):
            began = time.perf_counter()
            context.connect().close()
            opens.append(time.perf_counter() - began)
        figures["open_analytics (connection + views + dimensions)"] = _percentile(opens, 0.5)
        with context.connect() as analytics:
            for name, sql in BREAKDOWN.items():
                statement = sql.format(orders=orders, events=events)
                times = []
                for _ in range(3):
                    began = time.perf_counter()
                    analytics.con.execute(statement).fetchall()
                    times.append(time.perf_counter() - began)
                figures[name] = _percentile(times, 0.5)
        return figures
    finally:
        context.close()


def child_pandas(root: Path, runs: int) -> dict[str, Any]:
    import analytics_pandas as pandas_side
    import analytics_queries as queries

    context = queries.Context.open(root, 30, timezone=TIMEZONE, today=TODAY)
    try:
        figures: dict[str, Any] = {}
        for name, function in (
            ("driver_tree", pandas_side.driver_tree),
            ("cohorts", pandas_side.cohorts),
        ):
            times = []
            for _ in range(max(2, runs // 2)):
                began = time.perf_counter()
                function(root / "warehouse", context.current, context.base, TIMEZONE)
                times.append(time.perf_counter() - began)
            figures[name] = min(times)
        figures["rss"] = _rss_bytes()
        return figures
    finally:
        context.close()


# ---------------------------------------------------------------- report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f}"


def report(results: dict[str, dict[str, Any]], pandas_figures: dict[str, Any]) -> None:
    print(
        "\nquery                              period  cold ms  open ms  warm p50  warm p95  n  goal"
    )
    misses = []
    for key, figures in results.items():
        name, days = key.rsplit("@", 1)
        if "error" in figures:
            print(f"{name:<34} {days:>4}d  ERROR {figures['error'][:160]}")
            continue
        met = figures["warm_p95"] <= WARM_GOAL and figures["cold"] <= COLD_GOAL
        print(
            f"{name:<34} {days:>4}d {_ms(figures['cold'])} {_ms(figures['open_p50'])} "
            f"{_ms(figures['warm_p50'])}  {_ms(figures['warm_p95'])} {figures['runs']:>2}  "
            f"{'✓' if met else '✗'}"
        )
        if not met:
            misses.append((key, figures))
    if misses:
        print("\nwhere the time goes (slowest statements of the queries missing a goal):")
    for key, figures in misses:
        print(f"- {key}: cold {figures['cold']:.2f} s, warm p95 {figures['warm_p95']:.2f} s")
        for statement in figures.get("statements", [])[:2]:
            print(f"    {statement['seconds']:.2f} s  {statement['sql'][:300]}")
            for operator in statement.get("operators", [])[:5]:
                print(f"        {operator}")
    if pandas_figures and "error" not in pandas_figures:
        print("\npandas on the same Parquet files (best of runs) vs DuckDB warm p50, 30 days:")
        for name in ("driver_tree", "cohorts"):
            duck = results.get(f"{name}@30", {}).get("warm_p50")
            seconds = pandas_figures[name]
            ratio = f"{seconds / duck:.1f}×" if duck else "n/a"
            duck_text = f"{duck:.2f} s" if duck else "n/a"
            print(f"  {name:<12} pandas {seconds:.2f} s, DuckDB {duck_text}: ratio {ratio}")
        print(f"  pandas peak RSS {pandas_figures['rss'] / 1024**3:.2f} GiB")
    elif pandas_figures:
        print(f"\npandas: ERROR {pandas_figures['error'][:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--data", type=Path, help="data dir (reused when already generated)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per query (≥ 5)")
    parser.add_argument("--only", help="comma-separated query names")
    parser.add_argument("--periods", default="30,90", help="comma-separated period lengths in days")
    parser.add_argument("--drop-caches", action="store_true", help="drop the OS page cache")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--days", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    arguments.runs = max(5, arguments.runs)

    if arguments.child:
        if arguments.child == "pandas":
            figures = child_pandas(arguments.data, arguments.runs)
        elif arguments.child == "breakdown":
            figures = child_breakdown(arguments.data, arguments.days, arguments.runs)
        else:
            figures = child_query(arguments.data, arguments.child, arguments.days, arguments.runs)
        print(RESULT_PREFIX + json.dumps(figures, default=str), flush=True)
        return

    temporary = arguments.data is None
    if temporary:
        arguments.data = Path(tempfile.mkdtemp(prefix="siyu-bench-analytics-"))
    root: Path = arguments.data
    try:
        if not (root / "sizes.json").exists():
            customers, orders, events = (max(1, round(n * arguments.scale)) for n in FULL_SIZE)
            sizes = data.Sizes(customers=customers, orders=orders, events=events)
            print(f"generating {customers:,} customers, {orders:,} orders, {events:,} events")
            began = time.perf_counter()
            root.mkdir(parents=True, exist_ok=True)
            generate(root, sizes)
            print(f"generated in {time.perf_counter() - began:.1f} s", flush=True)
        counts = json.loads((root / "sizes.json").read_text())
        print(
            f"{platform.python_version()} DuckDB {duckdb.__version__}, {os.cpu_count()} cores; "
            f"{counts['customers']:,} customers, {counts['orders']:,} orders, "
            f"{counts['events']:,} events; page cache "
            f"{'dropped before each child' if arguments.drop_caches else 'warm'}",
            flush=True,
        )
        import analytics_queries as queries

        wanted = (
            arguments.only.split(",")
            if arguments.only
            else [*queries.QUERIES, "pandas", "breakdown"]
        )
        names = [name for name in wanted if name in queries.QUERIES]
        results: dict[str, dict[str, Any]] = {}
        periods = [int(days) for days in arguments.periods.split(",")]
        for days in periods:
            for name in names:
                figures = run_child(arguments, "--child", name, "--days", str(days))
                results[f"{name}@{days}"] = figures
                summary = (
                    f"cold {figures['cold']:.3f} s, warm p95 {figures['warm_p95']:.3f} s"
                    if "error" not in figures
                    else "ERROR " + figures["error"][:200]
                )
                print(f"  {name}@{days}: {summary}", flush=True)
        pandas_figures: dict[str, Any] = {}
        if "pandas" in wanted:
            pandas_figures = run_child(arguments, "--child", "pandas")
        breakdown: dict[str, Any] = {}
        if "breakdown" in wanted:
            for days in periods:
                breakdown[str(days)] = run_child(
                    arguments, "--child", "breakdown", "--days", str(days)
                )
        report(results, pandas_figures)
        for label, blocks in breakdown.items():
            print(f"\nbuilding blocks, {label}-day period, warm median:")
            for name, seconds in blocks.items():
                text = f"{seconds * 1000:8.0f} ms" if isinstance(seconds, float) else seconds
                print(f"  {text}  {name}")
        (root / "results.json").write_text(
            json.dumps(
                {"results": results, "pandas": pandas_figures, "breakdown": breakdown},
                indent=1,
                default=str,
            )
        )
    finally:
        if temporary and not arguments.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
