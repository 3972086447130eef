"""The traffic map: from public-domain sources to private-domain touchpoints to orders.

Who is counted: customers *acquired* in the period — live customers whose first touch
(``customers.first_touch_at``, or their creation time when no touch was recorded) falls
in the period, within the caller's data scope (a store manager: customers of their
store; a guide: their own customers).

Each acquired customer flows through four columns of the Sankey chart:

1. **source**: the source group (``a_channel_codes.source_group``) of the channel code
   of their first touch; ``direct`` without one.
2. **private-domain touchpoint**: exactly one, the *primary* one, so the flows are
   conserved (every customer leaves the source column once). The order is the
   strength of the relationship: ``wecom`` (a WeCom 1:1 contact: any ``staff_links``
   row) before ``community`` (a ``group_join`` tracked event since the period start)
   before ``oa`` (an ``oa_openid`` identity: an official-account follower) before
   ``mp`` (an ``mp_openid`` identity or a tracked event on the ``mp`` touchpoint since
   the period start); ``none`` when the customer reached none of them.
3. **first order**: customers with at least one paid order (in scope, paid since
   the period start, so also after the period: the map follows the customers).
4. **repeat order**: customers with at least two such paid orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from siyu.analytics.connection import (
    GMV_SQL,
    ORDER_PARTITION_SLACK_DAYS,
    Analytics,
    customer_scope_sql,
    order_scope_sql,
)
from siyu.analytics.period import Period
from siyu.analytics.report import ColumnKind, ReportColumn, ReportTable

Translate = Callable[..., str]

SOURCE_GROUPS = (
    "ecommerce",
    "ads",
    "content",
    "offline_store",
    "parcel_card",
    "guide",
    "event",
    "other",
    "direct",
)
# In order of precedence: the first one a customer reached is their primary touchpoint.
PRIVATE_TOUCHPOINTS = ("wecom", "community", "oa", "mp")
NOT_REACHED = "none"
FIRST_ORDER = "first_order"
REPEAT_ORDER = "repeat_order"


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return part / whole if whole else None


def since_sql(column: str, analytics: Analytics, period: Period, *, slack_days: int) -> str:
    """``column`` (naive UTC) at or after the period start, with hive ``day`` pruning."""
    begin, _finish = period.utc_bounds(analytics.timezone)
    low = begin.date() - timedelta(days=slack_days)
    return f"{column} >= TIMESTAMP '{begin.isoformat(sep=' ')}' AND day >= DATE '{low.isoformat()}'"


def paid_orders_sql(analytics: Analytics, condition: str) -> str:
    """SELECT the scope's paid orders meeting ``condition`` (on alias ``o``).

    Read from the ``orders`` view rather than ``a_orders``: ``a_orders`` joins every
    order's first-order facts, membership and traits, which these views do not need
    and which cost a pass over all orders (10 M in the benchmark) on each use."""
    return f"""SELECT o.order_id, o.customer_id, o.paid_at, {GMV_SQL} AS gmv, o.touchpoint,
            o.channel_code_id, o.campaign_id, o.referrer_customer_id, o.store_id
        FROM orders o
        WHERE o.paid_at IS NOT NULL AND {order_scope_sql(analytics.scope)} AND {condition}"""


def first_orders_sql(candidates: str) -> str:
    """SELECT customer_id, first_order_id of the ``candidates`` (a customer_id query):
    their first paid order over every order of the brand, read from ``a_firsts``
    (stored once per sync, so no scan of every order here)."""
    return f"""SELECT f.customer_id, f.first_order_id FROM a_firsts f
        WHERE f.customer_id IN ({candidates})"""


def acquired_sql(analytics: Analytics, period: Period) -> str:
    """SELECT customer_id, source_group of the customers acquired in the period (scoped)."""
    begin, finish = period.utc_bounds(analytics.timezone)
    touched = "COALESCE(c.first_touch_at, c.created_at)"
    return f"""SELECT c.customer_id, COALESCE(cc.source_group, 'direct') AS source_group
        FROM live_customers c
        LEFT JOIN a_channel_codes cc ON cc.channel_code_id = c.first_touch_channel_code_id
        WHERE {touched} >= TIMESTAMP '{begin.isoformat(sep=" ")}'
          AND {touched} < TIMESTAMP '{finish.isoformat(sep=" ")}'
          AND {customer_scope_sql(analytics.scope, "c")}"""


@dataclass(frozen=True)
class TrafficNode:
    key: str  # "source:ads", "touchpoint:wecom", "first_order", "repeat_order"
    stage: str  # source | touchpoint | order
    name: str  # source group, touchpoint or order step
    customers: int


@dataclass(frozen=True)
class TrafficLink:
    source: str
    target: str
    customers: int


@dataclass(frozen=True)
class TrafficRow:
    """One source group or touchpoint and how its customers went on."""

    name: str
    acquired: int
    private_domain: int
    first_order: int
    repeat_order: int
    private_domain_rate: float | None
    first_order_rate: float | None  # of acquired
    repeat_rate: float | None  # of first-order customers


@dataclass(frozen=True)
class TrafficStep:
    name: str  # acquired | private_domain | first_order | repeat_order
    customers: int
    rate_from_previous: float | None


@dataclass
class TrafficMap:
    period: Period
    acquired: int
    steps: list[TrafficStep] = field(default_factory=list)
    nodes: list[TrafficNode] = field(default_factory=list)
    links: list[TrafficLink] = field(default_factory=list)
    sources: list[TrafficRow] = field(default_factory=list)
    touchpoints: list[TrafficRow] = field(default_factory=list)


def _flows_sql(analytics: Analytics, period: Period) -> str:
    event_since = since_sql("e.occurred_at", analytics, period, slack_days=0)
    order_since = since_sql("o.paid_at", analytics, period, slack_days=ORDER_PARTITION_SLACK_DAYS)
    return f"""
    WITH acquired AS ({acquired_sql(analytics, period)}),
    seen AS (
        SELECT e.customer_id, bool_or(e.type = 'group_join') AS joined_group,
               bool_or(e.touchpoint = 'mp') AS used_mp
        FROM a_events e
        WHERE {event_since} AND (e.type = 'group_join' OR e.touchpoint = 'mp')
          AND e.customer_id IN (SELECT customer_id FROM acquired)
        GROUP BY e.customer_id),
    known AS (
        SELECT i.customer_id, bool_or(i.kind = 'oa_openid') AS follows_oa,
               bool_or(i.kind = 'mp_openid') AS uses_mp
        FROM identities i WHERE i.customer_id IN (SELECT customer_id FROM acquired)
        GROUP BY i.customer_id),
    linked AS (
        SELECT DISTINCT s.customer_id FROM staff_links s
        WHERE s.customer_id IN (SELECT customer_id FROM acquired)),
    bought AS (
        SELECT o.customer_id, count(*) AS orders FROM ({paid_orders_sql(analytics, order_since)}) o
        WHERE o.customer_id IN (SELECT customer_id FROM acquired)
        GROUP BY o.customer_id)
    SELECT a.source_group,
           CASE WHEN l.customer_id IS NOT NULL THEN 'wecom'
                WHEN COALESCE(s.joined_group, FALSE) THEN 'community'
                WHEN COALESCE(k.follows_oa, FALSE) THEN 'oa'
                WHEN COALESCE(k.uses_mp, FALSE) OR COALESCE(s.used_mp, FALSE) THEN 'mp'
                ELSE '{NOT_REACHED}' END AS touchpoint,
           count(*) AS customers,
           count(*) FILTER (WHERE COALESCE(b.orders, 0) >= 1) AS buyers,
           count(*) FILTER (WHERE COALESCE(b.orders, 0) >= 2) AS repeaters
    FROM acquired a
    LEFT JOIN seen s ON s.customer_id = a.customer_id
    LEFT JOIN known k ON k.customer_id = a.customer_id
    LEFT JOIN linked l ON l.customer_id = a.customer_id
    LEFT JOIN bought b ON b.customer_id = a.customer_id
    GROUP BY 1, 2"""


def _row(name: str, acquired: int, private: int, buyers: int, repeaters: int) -> TrafficRow:
    return TrafficRow(
        name=name,
        acquired=acquired,
        private_domain=private,
        first_order=buyers,
        repeat_order=repeaters,
        private_domain_rate=ratio(private, acquired),
        first_order_rate=ratio(buyers, acquired),
        repeat_rate=ratio(repeaters, buyers),
    )


def traffic_map(analytics: Analytics, period: Period) -> TrafficMap:
    """Acquired customers' flows source → primary touchpoint → first → repeat order."""
    flows = analytics.rows(_flows_sql(analytics, period))
    by_source: dict[str, list[int]] = {}
    by_touchpoint: dict[str, list[int]] = {}
    links: dict[tuple[str, str], int] = {}
    for flow in flows:
        reached = flow["customers"] if flow["touchpoint"] != NOT_REACHED else 0
        counts = (flow["customers"], reached, flow["buyers"], flow["repeaters"])
        for table, key in ((by_source, flow["source_group"]), (by_touchpoint, flow["touchpoint"])):
            totals = table.setdefault(key, [0, 0, 0, 0])
            for index, value in enumerate(counts):
                totals[index] += value
        pair = (f"source:{flow['source_group']}", f"touchpoint:{flow['touchpoint']}")
        links[pair] = links.get(pair, 0) + flow["customers"]
    acquired = sum(totals[0] for totals in by_source.values())
    private = sum(totals[1] for totals in by_source.values())
    buyers = sum(totals[2] for totals in by_source.values())
    repeaters = sum(totals[3] for totals in by_source.values())

    result = TrafficMap(period=period, acquired=acquired)
    result.steps = [
        TrafficStep("acquired", acquired, None),
        TrafficStep("private_domain", private, ratio(private, acquired)),
        TrafficStep(FIRST_ORDER, buyers, ratio(buyers, acquired)),
        TrafficStep(REPEAT_ORDER, repeaters, ratio(repeaters, buyers)),
    ]
    source_order = [name for name in SOURCE_GROUPS if name in by_source]
    source_order += sorted(set(by_source) - set(SOURCE_GROUPS))
    touchpoint_order = [
        name for name in (*PRIVATE_TOUCHPOINTS, NOT_REACHED) if name in by_touchpoint
    ]
    result.sources = [_row(name, *by_source[name]) for name in source_order]
    result.touchpoints = [_row(name, *by_touchpoint[name]) for name in touchpoint_order]
    result.nodes = [
        TrafficNode(f"source:{row.name}", "source", row.name, row.acquired)
        for row in result.sources
    ]
    result.nodes += [
        TrafficNode(f"touchpoint:{row.name}", "touchpoint", row.name, row.acquired)
        for row in result.touchpoints
    ]
    if buyers:
        result.nodes.append(TrafficNode(FIRST_ORDER, "order", FIRST_ORDER, buyers))
    if repeaters:
        result.nodes.append(TrafficNode(REPEAT_ORDER, "order", REPEAT_ORDER, repeaters))
    result.links = [
        TrafficLink(source, target, customers)
        for (source, target), customers in sorted(links.items())
    ]
    result.links += [
        TrafficLink(f"touchpoint:{row.name}", FIRST_ORDER, row.first_order)
        for row in result.touchpoints
        if row.first_order
    ]
    if repeaters:
        result.links.append(TrafficLink(FIRST_ORDER, REPEAT_ORDER, repeaters))
    return result


# Labels and tables -------------------------------------------------------------------


def node_label(t: Translate, node_key: str) -> str:
    """The shown name of a node key ("source:ads" → 广告投放)."""
    stage, _, name = node_key.partition(":")
    if not name:
        return t(f"analytics_behaviour.traffic.step.{stage}")
    return t(f"analytics_behaviour.{stage}.{name}")


def traffic_tables(result: TrafficMap, t: Translate) -> list[ReportTable]:
    def columns(first_key: str) -> list[ReportColumn]:
        label = "analytics_behaviour.traffic.column"
        return [
            ReportColumn("name", t(f"{label}.{first_key}")),
            ReportColumn("acquired", t(f"{label}.acquired"), ColumnKind.INTEGER),
            ReportColumn("private_domain", t(f"{label}.private_domain"), ColumnKind.INTEGER),
            ReportColumn(
                "private_domain_rate", t(f"{label}.private_domain_rate"), ColumnKind.RATIO
            ),
            ReportColumn("first_order", t(f"{label}.first_order"), ColumnKind.INTEGER),
            ReportColumn("first_order_rate", t(f"{label}.first_order_rate"), ColumnKind.RATIO),
            ReportColumn("repeat_order", t(f"{label}.repeat_order"), ColumnKind.INTEGER),
            ReportColumn("repeat_rate", t(f"{label}.repeat_rate"), ColumnKind.RATIO),
        ]

    def rows(items: list[TrafficRow], stage: str) -> list[dict[str, object]]:
        return [{**row.__dict__, "name": node_label(t, f"{stage}:{row.name}")} for row in items]

    steps = ReportTable(
        "traffic_steps",
        [
            ReportColumn("step", t("analytics_behaviour.traffic.column.step")),
            ReportColumn(
                "customers", t("analytics_behaviour.column.customers"), ColumnKind.INTEGER
            ),
            ReportColumn(
                "rate_from_previous",
                t("analytics_behaviour.column.rate_from_previous"),
                ColumnKind.RATIO,
            ),
        ],
        [
            {
                "step": t(f"analytics_behaviour.traffic.step.{step.name}"),
                "customers": step.customers,
                "rate_from_previous": step.rate_from_previous,
            }
            for step in result.steps
        ],
    )
    return [
        ReportTable("traffic_sources", columns("source"), rows(result.sources, "source")),
        ReportTable(
            "traffic_touchpoints", columns("touchpoint"), rows(result.touchpoints, "touchpoint")
        ),
        steps,
    ]
