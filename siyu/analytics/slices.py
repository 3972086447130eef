"""Slices: the dimensions every analytics view can break its numbers down by.

A slice gives, for an order of ``a_orders o`` and for an event of ``a_events e``, the
value it falls under (always text, so ids, touchpoints and stage names share one
shape; ``NULL`` when the order or event has none, shown as "(none)"), and a label
lookup from the dimension tables. Most slices are *order-level*: an order falls under
one value. ``category`` is *line-level*: an order falls under every category of its
lines, with the GMV of its lines there (line payable amount minus line refunded
amount, so shipping and order-level adjustments are not split) and counted once per
category it touches; the category rows therefore do not add up to the order totals
(docs/metrics.md, "Slices").

Events are sliced by what they carry (touchpoint, channel code, campaign, guide,
category) or, for what belongs to the customer (store, tier, lifecycle stage), by the
customer's current value; that is what a visitor is counted under.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from siyu.analytics.connection import UNKNOWN_GROUP, Analytics
from siyu.analytics.errors import InvalidSlice
from siyu.analytics.period import Period

NONE_LABEL = "(none)"


class SliceBy(StrEnum):
    TOUCHPOINT = "touchpoint"
    CHANNEL_CODE = "channel_code"
    CHANNEL_GROUP = "channel_group"
    STORE = "store"
    GUIDE = "guide"
    CAMPAIGN = "campaign"
    CATEGORY = "category"
    TIER = "tier"
    LIFECYCLE_STAGE = "lifecycle_stage"
    NEW_RETURNING = "new_returning"


# Slices whose credit can be switched between attribution models (siyu.analytics.attribution).
ATTRIBUTABLE: frozenset[SliceBy] = frozenset(
    {SliceBy.TOUCHPOINT, SliceBy.CHANNEL_CODE, SliceBy.CAMPAIGN, SliceBy.GUIDE}
)
LINE_LEVEL: frozenset[SliceBy] = frozenset({SliceBy.CATEGORY})


@dataclass(frozen=True)
class SliceSql:
    """How one slice reads: value expressions and the joins they need.

    ``order_value`` is over ``o`` (a row of ``a_orders``) plus ``order_joins``;
    ``event_value`` over ``e`` (a row of ``a_events``) plus ``event_joins``. The
    line-level category slice has no order value: see :func:`line_facts_sql`."""

    order_value: str
    event_value: str
    order_joins: str = ""
    event_joins: str = ""


def _text(expression: str) -> str:
    return f"CAST({expression} AS VARCHAR)"


def new_customer_sql(first_paid_column: str, period: Period, timezone: str) -> str:
    """True when the customer's first paid order ever falls in ``period`` (a new customer
    of the period); false for a returning one. NULL (never paid) counts as new."""
    begin, finish = period.utc_bounds(timezone)
    low, high = begin.isoformat(sep=" "), finish.isoformat(sep=" ")
    return (
        f"({first_paid_column} IS NULL OR ({first_paid_column} >= TIMESTAMP '{low}' "
        f"AND {first_paid_column} < TIMESTAMP '{high}'))"
    )


def slice_sql(slice_by: SliceBy, period: Period, timezone: str) -> SliceSql:
    """The value expressions of ``slice_by``; ``period`` defines new vs returning."""
    if slice_by is SliceBy.TOUCHPOINT:
        return SliceSql("o.touchpoint", "e.touchpoint")
    if slice_by is SliceBy.CHANNEL_CODE:
        return SliceSql(_text("o.channel_code_id"), _text("e.channel_code_id"))
    if slice_by is SliceBy.CHANNEL_GROUP:
        return SliceSql(
            "o.channel_group",
            f"COALESCE(ecc.source_group, '{UNKNOWN_GROUP}')",
            event_joins=" LEFT JOIN a_channel_codes ecc ON ecc.channel_code_id = e.channel_code_id",
        )
    if slice_by is SliceBy.STORE:
        return SliceSql(
            _text("o.store_id"),
            _text("ec.store_id"),
            event_joins=" LEFT JOIN customers ec ON ec.customer_id = e.customer_id",
        )
    if slice_by is SliceBy.GUIDE:
        return SliceSql(_text("o.guide_id"), _text("e.guide_id"))
    if slice_by is SliceBy.CAMPAIGN:
        return SliceSql(_text("o.campaign_id"), _text("e.campaign_id"))
    if slice_by is SliceBy.CATEGORY:
        return SliceSql("NULL", _text("e.category_id"))
    if slice_by is SliceBy.TIER:
        return SliceSql(
            _text("o.tier_id"),
            _text("em.tier_id"),
            event_joins=" LEFT JOIN memberships em ON em.customer_id = e.customer_id",
        )
    if slice_by is SliceBy.LIFECYCLE_STAGE:
        return SliceSql(
            "o.lifecycle_stage",
            "et.ops_stage",
            event_joins=" LEFT JOIN traits et ON et.customer_id = e.customer_id",
        )
    order_new = new_customer_sql("o.first_paid_at", period, timezone)
    event_new = new_customer_sql("ef.first_paid_at", period, timezone)
    return SliceSql(
        f"CASE WHEN {order_new} THEN 'new' ELSE 'returning' END",
        f"CASE WHEN {event_new} THEN 'new' ELSE 'returning' END",
        event_joins=" LEFT JOIN a_firsts ef ON ef.customer_id = e.customer_id",
    )


def line_facts_sql(orders_sql: str, partitions: str) -> str:
    """Per (order, category) rows of the orders in ``orders_sql`` (a SELECT with the
    columns of ``a_orders``): the GMV, paid and refunded amounts and units of the
    order's lines in that category, plus the order's columns. ``partitions`` bounds the
    hive ``day`` of ``order_lines`` (partitioned like orders, by creation day)."""
    return f"""
        SELECT o.*, CAST(l.category_id AS VARCHAR) AS slice_value,
               l.line_gmv, l.line_paid, l.line_refunded, l.line_units
        FROM ({orders_sql}) o
        JOIN (
            SELECT order_id, category_id,
                   sum(payable_amount - refunded_amount) AS line_gmv,
                   sum(payable_amount) AS line_paid, sum(refunded_amount) AS line_refunded,
                   sum(quantity) AS line_units
            FROM order_lines WHERE {partitions}
            GROUP BY order_id, category_id
        ) l ON l.order_id = o.order_id"""


# Label lookup per slice: (dimension table, key column, name column).
_LABEL_TABLES: dict[SliceBy, tuple[str, str, str]] = {
    SliceBy.CHANNEL_CODE: ("a_channel_codes", "channel_code_id", "name"),
    SliceBy.STORE: ("a_stores", "store_id", "name"),
    SliceBy.GUIDE: ("a_staff", "staff_id", "name"),
    SliceBy.CAMPAIGN: ("a_campaigns", "campaign_id", "name"),
    SliceBy.CATEGORY: ("categories", "category_id", "name"),
    SliceBy.TIER: ("tiers", "tier_id", "name"),
}


def slice_labels(
    analytics: Analytics, slice_by: SliceBy, values: set[str | None]
) -> dict[str | None, str]:
    """``{value: label}`` for the given slice values: the dimension's name where there is
    one, the value itself otherwise (touchpoints, stages, groups), "(none)" for NULL and
    for the "(none)" of attribution."""
    labels: dict[str | None, str] = {None: NONE_LABEL, NONE_LABEL: NONE_LABEL}
    table = _LABEL_TABLES.get(slice_by)
    known = sorted(value for value in values if value is not None and value != NONE_LABEL)
    names: dict[str, str] = {}
    if table is not None and known:
        name, key, column = table
        markers = ", ".join("?" for _ in known)
        for row in analytics.rows(
            f"SELECT CAST({key} AS VARCHAR) AS value, {column} AS label FROM {name} "
            f"WHERE CAST({key} AS VARCHAR) IN ({markers})",
            list(known),
        ):
            if row["label"]:
                names[row["value"]] = str(row["label"])
    for value in known:
        labels[value] = names.get(value, value)
    return labels


def parse_slice(value: str | None) -> SliceBy | None:
    """A slice named by a request (``None`` for no slice); unknown names are a 400."""
    if value in (None, "", "none"):
        return None
    try:
        return SliceBy(value)
    except ValueError:
        raise InvalidSlice(
            "Unknown slice.", data={"slice": value, "slices": [item.value for item in SliceBy]}
        ) from None
