"""Ordered conversion funnels over tracked events, and the lifecycle funnel.

Step funnel (docs/analytics-behaviour.md):

- A step is a tracked event type (catalogue type or ``custom.`` type) with optional
  property filters (``json_extract_string(properties, '$.key') = value``). The step
  ``order_paid`` is read from paid orders (``orders.paid_at``, the system of record;
  the order service does not track an ``order_paid`` event), so it takes no filters.
- A *start* is a first-step event that occurred in the period. From a start, step k is
  the earliest step-k event strictly later than the step k-1 event found and at most
  ``window`` after the start (later steps may fall after the period's end). Taking the
  earliest event at each step is optimal for a fixed start, so a start's depth is the
  deepest step it can reach.
- A customer counts at every step up to the deepest depth over all their starts; the
  start that reaches it (the earliest one on a tie) is "their" first-step event, whose
  touchpoint, channel code or campaign is the customer's slice.

Lifecycle funnel acquire → retain → convert → refer, among the customers acquired in
the period (as in the traffic map: first touch in the period, scoped):

- retained: reachable again — an active WeCom contact (a ``staff_links`` row not
  removed), an official-account follower (``oa_openid`` identity) or a ``subscribe``
  tracked event (OA follow or mini-program subscribe opt-in) since the period start;
- converted: a paid order since the period start;
- referred: named as ``referrer_customer_id`` on another customer's *first* paid
  order since the period start (their share brought a new buyer).
Each stage is counted among all acquired customers (not only the previous stage's),
so "referred without buying" still shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from siyu.analytics.connection import ORDER_PARTITION_SLACK_DAYS, Analytics
from siyu.analytics.errors import InvalidAnalyticsRequest, InvalidSlice
from siyu.analytics.period import Period
from siyu.analytics.report import ColumnKind, ReportColumn, ReportTable
from siyu.analytics.traffic import (
    Translate,
    acquired_sql,
    first_orders_sql,
    paid_orders_sql,
    ratio,
    since_sql,
)
from siyu.events.catalogue import is_known_type

MIN_STEPS, MAX_STEPS = 2, 8
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(days=90)
MAX_FILTERS = 5
MAX_FILTER_VALUE_LENGTH = 200
ORDER_PAID = "order_paid"
_PROPERTY_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Slice name → the column of the first-step event it groups by.
SLICES = {"touchpoint": "touchpoint", "channel_code": "channel_code_id", "campaign": "campaign_id"}
DEFAULT_STEPS = ("product_view", "add_to_cart", "checkout_start", ORDER_PAID)


@dataclass(frozen=True)
class FunnelStep:
    type: str
    where: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class FunnelStepCount:
    index: int  # 1-based
    type: str
    where: dict[str, str | int]
    customers: int
    rate_from_previous: float | None
    rate_from_first: float | None


@dataclass(frozen=True)
class FunnelSlice:
    value: str  # "" when the first-step event had none
    label: str
    customers: list[int]  # per step
    conversion: float | None  # last step / first step


@dataclass
class FunnelResult:
    period: Period
    window_seconds: int
    slice_by: str | None
    steps: list[FunnelStepCount]
    slices: list[FunnelSlice] = field(default_factory=list)


def _invalid(message: str, **data: Any) -> InvalidAnalyticsRequest:
    return InvalidAnalyticsRequest(message, data=data)


def validate(steps: list[FunnelStep], window: timedelta, slice_by: str | None) -> None:
    """Refuse what cannot be computed, with analytics.invalid_request / invalid_slice."""
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise _invalid(f"A funnel has {MIN_STEPS} to {MAX_STEPS} steps.", steps=len(steps))
    for index, step in enumerate(steps, start=1):
        if not is_known_type(step.type):
            raise _invalid("Unknown event type.", step=index, type=step.type)
        if step.type == ORDER_PAID and step.where:
            raise _invalid("The order_paid step takes no property filters.", step=index)
        if len(step.where) > MAX_FILTERS:
            raise _invalid("Too many property filters.", step=index, max=MAX_FILTERS)
        for key, value in step.where.items():
            if not _PROPERTY_KEY.match(key):
                raise _invalid("Invalid property name.", step=index, property=key)
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _invalid("A property filter value is text or an integer.", step=index)
            if len(str(value)) > MAX_FILTER_VALUE_LENGTH:
                raise _invalid("A property filter value is too long.", step=index)
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise _invalid(
            "The conversion window is 1 minute to 90 days.",
            window_seconds=int(window.total_seconds()),
        )
    if slice_by is not None and slice_by not in SLICES:
        raise InvalidSlice(
            "Funnels slice by touchpoint, channel_code or campaign.",
            data={"slice": slice_by, "allowed": sorted(SLICES)},
        )


def _step_source(
    analytics: Analytics, step: FunnelStep, low: datetime, high: datetime, parameters: list[Any]
) -> str:
    """SELECT customer_id, t, event_id, touchpoint, channel_code_id, campaign_id of one
    step's occurrences in [low, high) (naive UTC), pruning hive ``day`` partitions."""
    after, before = low.isoformat(sep=" "), high.isoformat(sep=" ")
    last_day = high.date().isoformat()
    if step.type == ORDER_PAID:
        # Orders are partitioned by creation day and paid up to the slack later.
        first_day = (low.date() - timedelta(days=ORDER_PARTITION_SLACK_DAYS)).isoformat()
        paid = paid_orders_sql(
            analytics,
            f"o.paid_at >= TIMESTAMP '{after}' AND o.paid_at < TIMESTAMP '{before}' "
            f"AND o.day BETWEEN DATE '{first_day}' AND DATE '{last_day}'",
        )
        return f"""SELECT o.customer_id, o.paid_at AS t, o.order_id AS event_id, o.touchpoint,
            o.channel_code_id, o.campaign_id FROM ({paid}) o"""
    filters = ""
    parameters.append(step.type)
    for key, value in step.where.items():
        filters += f" AND json_extract_string(e.properties, '$.{key}') = ?"
        parameters.append(str(value))
    return f"""SELECT e.customer_id, e.occurred_at AS t, e.id AS event_id, e.touchpoint,
        e.channel_code_id, e.campaign_id FROM a_events e
        WHERE e.type = ?{filters}
          AND e.occurred_at >= TIMESTAMP '{after}' AND e.occurred_at < TIMESTAMP '{before}'
          AND day BETWEEN DATE '{low.date().isoformat()}' AND DATE '{last_day}'"""


def _funnel_sql(
    analytics: Analytics, period: Period, steps: list[FunnelStep], window: timedelta
) -> tuple[str, list[Any]]:
    begin, finish = period.utc_bounds(analytics.timezone)
    later = finish + window
    seconds = int(window.total_seconds())
    parameters: list[Any] = []
    ctes = [f"s1 AS ({_step_source(analytics, steps[0], begin, finish, parameters)})"]
    for number, step in enumerate(steps[1:], start=2):
        source = _step_source(analytics, step, begin, later, parameters)
        # No "customer in step 1" pre-filter: the join below restricts as well, and a
        # semi join on millions of first-step events costs more than it saves.
        ctes.append(f"s{number} AS ({source})")
    ctes.append(
        "p1 AS (SELECT customer_id, event_id AS start_id, t AS start_at, t AS at_1, "
        "touchpoint, channel_code_id, campaign_id FROM s1)"
    )
    for number in range(2, len(steps) + 1):
        ctes.append(
            f"p{number} AS (SELECT p.customer_id, p.start_id, p.start_at, "
            f"min(s.t) AS at_{number} FROM p{number - 1} p JOIN s{number} s "
            f"ON s.customer_id = p.customer_id AND s.t > p.at_{number - 1} "
            f"AND s.t <= p.start_at + INTERVAL '{seconds} seconds' "
            "GROUP BY p.customer_id, p.start_id, p.start_at)"
        )
    depth = " + ".join(
        ["1"]
        + [
            f"CAST(p{number}.at_{number} IS NOT NULL AS INTEGER)"
            for number in range(2, len(steps) + 1)
        ]
    )
    joins = " ".join(
        f"LEFT JOIN p{number} USING (customer_id, start_id)" for number in range(2, len(steps) + 1)
    )
    ctes.append(
        f"""depths AS (SELECT p1.customer_id, p1.start_at, p1.start_id, p1.touchpoint,
            p1.channel_code_id, p1.campaign_id, {depth} AS depth FROM p1 {joins})"""
    )
    # The customer's start: deepest, then earliest. An aggregate, not a window: a
    # window sorts every start (3.5 M product views a month in the benchmark).
    best = "{'depth': -depth, 'at': start_at, 'id': start_id}"
    ctes.append(
        f"""best AS (SELECT customer_id, max(depth) AS depth,
            arg_min_null(touchpoint, {best}) AS touchpoint,
            arg_min_null(channel_code_id, {best}) AS channel_code_id,
            arg_min_null(campaign_id, {best}) AS campaign_id
            FROM depths GROUP BY customer_id)"""
    )
    return "WITH " + ",\n".join(ctes), parameters


def funnel(
    analytics: Analytics,
    period: Period,
    steps: list[FunnelStep],
    *,
    window: timedelta,
    slice_by: str | None = None,
) -> FunnelResult:
    """Customers reaching each ordered step within ``window`` of their first step."""
    validate(steps, window, slice_by)
    head, parameters = _funnel_sql(analytics, period, steps, window)
    counts = ", ".join(
        f"count(*) FILTER (WHERE depth >= {number}) AS reached_{number}"
        for number in range(1, len(steps) + 1)
    )
    if slice_by == "touchpoint":
        value, label, join = "COALESCE(b.touchpoint, '')", "COALESCE(b.touchpoint, '')", ""
    elif slice_by == "channel_code":
        value = "COALESCE(CAST(b.channel_code_id AS VARCHAR), '')"
        label = "COALESCE(d.name, CAST(b.channel_code_id AS VARCHAR), '')"
        join = "LEFT JOIN a_channel_codes d ON d.channel_code_id = b.channel_code_id"
    elif slice_by == "campaign":
        value = "COALESCE(CAST(b.campaign_id AS VARCHAR), '')"
        label = "COALESCE(d.name, CAST(b.campaign_id AS VARCHAR), '')"
        join = "LEFT JOIN a_campaigns d ON d.campaign_id = b.campaign_id"
    else:
        value, label, join = "''", "''", ""
    rows = analytics.rows(
        f"{head} SELECT {value} AS value, min({label}) AS label, {counts} "
        f"FROM best b {join} GROUP BY 1 ORDER BY reached_1 DESC, value",
        parameters,
    )
    totals = [sum(row[f"reached_{number}"] for row in rows) for number in range(1, len(steps) + 1)]
    step_counts = [
        FunnelStepCount(
            index=number,
            type=step.type,
            where=dict(step.where),
            customers=totals[number - 1],
            rate_from_previous=ratio(totals[number - 1], totals[number - 2])
            if number > 1
            else None,
            rate_from_first=ratio(totals[number - 1], totals[0]),
        )
        for number, step in enumerate(steps, start=1)
    ]
    result = FunnelResult(
        period=period,
        window_seconds=int(window.total_seconds()),
        slice_by=slice_by,
        steps=step_counts,
    )
    if slice_by is not None:
        for row in rows:
            reached = [row[f"reached_{number}"] for number in range(1, len(steps) + 1)]
            result.slices.append(
                FunnelSlice(row["value"], row["label"], reached, ratio(reached[-1], reached[0]))
            )
    return result


# Lifecycle funnel --------------------------------------------------------------------

LIFECYCLE_STAGES = ("acquire", "retain", "convert", "refer")


@dataclass(frozen=True)
class LifecycleStage:
    stage: str
    customers: int
    rate_of_acquired: float | None


@dataclass
class LifecycleFunnel:
    period: Period
    stages: list[LifecycleStage]


def lifecycle_funnel(analytics: Analytics, period: Period) -> LifecycleFunnel:
    """Acquired customers, and how many of them were retained, converted and referred."""
    row = _lifecycle_counts(analytics, period)
    acquired = row["acquire"]
    return LifecycleFunnel(
        period=period,
        stages=[
            LifecycleStage(stage, row[stage], ratio(row[stage], acquired))
            for stage in LIFECYCLE_STAGES
        ],
    )


def _lifecycle_counts(analytics: Analytics, period: Period) -> dict[str, int]:
    event_since = since_sql("e.occurred_at", analytics, period, slack_days=0)
    order_since = since_sql("o.paid_at", analytics, period, slack_days=ORDER_PARTITION_SLACK_DAYS)
    return analytics.rows(
        f"""WITH acquired AS ({acquired_sql(analytics, period)}),
        retained AS (
            SELECT DISTINCT customer_id FROM (
                SELECT s.customer_id FROM staff_links s WHERE s.removed_at IS NULL
                UNION ALL
                SELECT i.customer_id FROM identities i WHERE i.kind = 'oa_openid'
                UNION ALL
                SELECT e.customer_id FROM a_events e WHERE e.type = 'subscribe' AND {event_since}
            ) reachable WHERE customer_id IN (SELECT customer_id FROM acquired)),
        recent AS ({paid_orders_sql(analytics, order_since)}),
        converted AS (
            SELECT DISTINCT o.customer_id FROM recent o
            WHERE o.customer_id IN (SELECT customer_id FROM acquired)),
        shared AS (
            SELECT o.order_id, o.customer_id, o.referrer_customer_id FROM recent o
            WHERE o.referrer_customer_id IN (SELECT customer_id FROM acquired)),
        referred AS (
            SELECT DISTINCT s.referrer_customer_id AS customer_id FROM shared s
            JOIN ({first_orders_sql("SELECT customer_id FROM shared")}) f
              ON f.first_order_id = s.order_id)
        SELECT (SELECT count(*) FROM acquired) AS acquire,
               (SELECT count(*) FROM retained) AS retain,
               (SELECT count(*) FROM converted) AS convert,
               (SELECT count(*) FROM referred) AS refer"""
    )[0]


# Labels and tables -------------------------------------------------------------------


def step_label(t: Translate, step: FunnelStep | FunnelStepCount) -> str:
    key = f"analytics_behaviour.event.{step.type}"
    name = t(key)
    if name == key:  # a custom event type has no translation: show its name
        name = step.type
    if step.where:
        name += " (" + ", ".join(f"{key}={value}" for key, value in step.where.items()) + ")"
    return name


def funnel_tables(result: FunnelResult, t: Translate) -> list[ReportTable]:
    prefix = "analytics_behaviour"
    steps = ReportTable(
        "funnel_steps",
        [
            ReportColumn("index", t(f"{prefix}.funnel.column.index"), ColumnKind.INTEGER),
            ReportColumn("step", t(f"{prefix}.funnel.column.step")),
            ReportColumn("customers", t(f"{prefix}.column.customers"), ColumnKind.INTEGER),
            ReportColumn(
                "rate_from_previous", t(f"{prefix}.column.rate_from_previous"), ColumnKind.RATIO
            ),
            ReportColumn(
                "rate_from_first", t(f"{prefix}.column.rate_from_first"), ColumnKind.RATIO
            ),
        ],
        [
            {
                "index": step.index,
                "step": step_label(t, step),
                "customers": step.customers,
                "rate_from_previous": step.rate_from_previous,
                "rate_from_first": step.rate_from_first,
            }
            for step in result.steps
        ],
    )
    slice_columns = [ReportColumn("slice", t(f"{prefix}.funnel.column.slice"))]
    slice_columns += [
        ReportColumn(f"step_{step.index}", step_label(t, step), ColumnKind.INTEGER)
        for step in result.steps
    ]
    slice_columns.append(
        ReportColumn("conversion", t(f"{prefix}.column.rate_from_first"), ColumnKind.RATIO)
    )
    slices = ReportTable(
        "funnel_slices",
        slice_columns,
        [
            {
                "slice": item.label or t(f"{prefix}.none"),
                **{f"step_{index}": count for index, count in enumerate(item.customers, start=1)},
                "conversion": item.conversion,
            }
            for item in result.slices
        ],
    )
    return [steps, slices]


def lifecycle_tables(result: LifecycleFunnel, t: Translate) -> list[ReportTable]:
    prefix = "analytics_behaviour"
    return [
        ReportTable(
            "lifecycle_funnel",
            [
                ReportColumn("stage", t(f"{prefix}.lifecycle.column.stage")),
                ReportColumn("customers", t(f"{prefix}.column.customers"), ColumnKind.INTEGER),
                ReportColumn(
                    "rate_of_acquired", t(f"{prefix}.lifecycle.column.rate"), ColumnKind.RATIO
                ),
            ],
            [
                {
                    "stage": t(f"{prefix}.lifecycle.{stage.stage}"),
                    "customers": stage.customers,
                    "rate_of_acquired": stage.rate_of_acquired,
                }
                for stage in result.stages
            ],
        )
    ]
