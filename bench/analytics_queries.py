"""The dashboard queries ``bench/analytics.py`` measures, called as the API calls them.

Each query is a function ``(context, analytics) -> result`` over one
``siyu.analytics.connection.open_analytics`` connection (data scope: everything, the
operator's view). ``profile`` records every SQL statement a query runs and DuckDB's
operator profile of the slowest, for the report of the queries that miss the goal.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from siyu.analytics.connection import Analytics, open_analytics
from siyu.analytics.period import Grain, Period
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse

FUNNEL_STEPS = ("product_view", "add_to_cart", "checkout_start", "order_paid")


@dataclass
class Context:
    warehouse: Warehouse
    engine: Engine
    session: Session
    timezone: str
    today: date
    current: Period
    base: Period

    @classmethod
    def open(cls, root: Path, days: int, *, timezone: str, today: date) -> Context:
        engine = create_engine(f"sqlite:///{root / 'oltp.sqlite'}")
        end = today - timedelta(days=1)
        current = Period(end - timedelta(days=days - 1), end)
        return cls(
            warehouse=Warehouse(root / "warehouse", threads=2, memory_limit="4GB"),
            engine=engine,
            session=Session(engine),
            timezone=timezone,
            today=today,
            current=current,
            base=current.previous(),
        )

    def connect(self) -> Analytics:
        return open_analytics(
            self.warehouse,
            self.session,
            scope=DataScope(ScopeKind.ALL),
            timezone=self.timezone,
            today=self.today,
        )

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


Query = Callable[[Context, Analytics], Any]


def _summary(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import metrics

    return metrics.summary(analytics, context.current)


def _series_by_day(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import metrics

    return metrics.series(analytics, context.current, Grain.DAY)


def _slice(name: str) -> Any:
    from siyu.analytics.slices import SliceBy

    return SliceBy(name)


def _by_channel(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import metrics

    return metrics.by_slice(analytics, context.current, _slice("channel_code"))


def _by_store(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import metrics

    return metrics.by_slice(analytics, context.current, _slice("store"))


def _driver_tree(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import drivers

    return drivers.driver_tree(analytics, context.current, context.base)


def _driver_tree_new_returning(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import drivers

    return drivers.driver_tree(
        analytics, context.current, context.base, variant=drivers.Variant.NEW_RETURNING
    )


def _driver_tree_drill(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import drivers

    return drivers.driver_tree(
        analytics, context.current, context.base, drill_by=_slice("channel_code")
    )


def _traffic_map(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import traffic

    return traffic.traffic_map(analytics, context.current)


def _funnel(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import funnels

    steps = [funnels.FunnelStep(step) for step in FUNNEL_STEPS]
    return funnels.funnel(analytics, context.current, steps, window=timedelta(days=1))


def _lifecycle_funnel(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import funnels

    return funnels.lifecycle_funnel(analytics, context.current)


def _cohorts(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import cohorts

    return cohorts.cohort_table(analytics, context.current)


def _attribution(model: str) -> Query:
    def attribution(context: Context, analytics: Analytics) -> Any:
        from siyu.analytics import attribution as module

        return module.attribute(
            analytics,
            context.current,
            model=module.AttributionModel(model),
            dimension=module.AttributionDimension.CHANNEL_CODE,
        )

    return attribution


def _campaign_roi(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import roi

    return roi.campaign_roi(analytics, context.session, context.current)


def _diagnosis(context: Context, analytics: Analytics) -> Any:
    from siyu.analytics import diagnosis

    return diagnosis.diagnosis_grid(analytics, context.session, context.current)


QUERIES: dict[str, Query] = {
    "overview.summary": _summary,
    "overview.series_by_day": _series_by_day,
    "overview.by_slice[channel_code]": _by_channel,
    "overview.by_slice[store]": _by_store,
    "driver_tree": _driver_tree,
    "driver_tree[new_returning]": _driver_tree_new_returning,
    "driver_tree.drill[channel_code]": _driver_tree_drill,
    "traffic_map": _traffic_map,
    "funnel[4 steps, 1 day]": _funnel,
    "lifecycle_funnel": _lifecycle_funnel,
    "cohorts": _cohorts,
    "attribution[first_touch]": _attribution("first_touch"),
    "attribution[last_touch]": _attribution("last_touch"),
    "attribution[position_based]": _attribution("position_based"),
    "campaign_roi": _campaign_roi,
    "diagnosis_grid": _diagnosis,
}


class _RecordingConnection:
    """Stands in for ``Analytics.con``: times each statement.

    DuckDB's ``execute`` runs the query to a materialised result, so its time is the
    statement's; the result is returned as is.
    """

    def __init__(self, con: Any) -> None:
        self._con = con
        self.statements: list[dict[str, Any]] = []

    def execute(self, sql: str, parameters: Any = None) -> Any:
        began = time.perf_counter()
        result = self._con.execute(sql, parameters) if parameters else self._con.execute(sql)
        seconds = time.perf_counter() - began
        self.statements.append({"sql": sql, "parameters": parameters, "seconds": seconds})
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _operators(node: dict[str, Any], found: list[tuple[float, str]]) -> None:
    """Flatten DuckDB's JSON profile (timing is CPU seconds summed over threads)."""
    timing = node.get("timing", node.get("operator_timing"))
    name = node.get("type", node.get("operator_type"))
    if timing is not None and name:
        extra = node.get("extra_info") or {}
        detail = " ".join(json.dumps(extra, ensure_ascii=False).split())[:140] if extra else ""
        rows = node.get("intermediate_rows", node.get("operator_cardinality", ""))
        found.append((float(timing), f"{float(timing):.3f} s {name} rows={rows} {detail}"))
    children = node.get("children", []) or node.get("operator", [])
    for child in children:
        _operators(child, found)


def profile(context: Context, call: Query) -> list[dict[str, Any]]:
    """Every statement of one call with its time; DuckDB's operators for the slowest two."""
    analytics = context.connect()
    try:
        recorder = _RecordingConnection(analytics.con)
        analytics.con = recorder  # type: ignore[assignment]
        call(context, analytics)
        statements = sorted(recorder.statements, key=lambda row: -row["seconds"])
        con = recorder._con
        for statement in statements[:2]:
            with tempfile.NamedTemporaryFile(suffix=".json") as output:
                con.execute("PRAGMA enable_profiling='json'")
                con.execute(f"PRAGMA profiling_output='{output.name}'")
                parameters = statement["parameters"]
                (
                    con.execute(statement["sql"], parameters)
                    if parameters
                    else con.execute(statement["sql"])
                ).fetchall()
                con.execute("PRAGMA disable_profiling")
                found: list[tuple[float, str]] = []
                _operators(json.loads(Path(output.name).read_text() or "{}"), found)
            statement["operators"] = [text for _, text in sorted(found, reverse=True)[:6]]
            statement["parameters"] = str(parameters)[:200]
        for statement in statements[2:]:
            statement["parameters"] = str(statement["parameters"])[:200]
        for statement in statements:
            statement["sql"] = " ".join(statement["sql"].split())
        return statements[:6]
    finally:
        analytics.con = recorder._con
        analytics.close()
