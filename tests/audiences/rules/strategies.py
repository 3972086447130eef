"""Hypothesis strategies: small random warehouse datasets and random valid rules.

Pools are tiny on purpose so that values collide (the same city, the same category,
an event exactly on a window's edge) and every branch of the semantics is hit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from siyu.audiences.rules import fields as catalogue
from siyu.audiences.rules.evaluate import RuleDataset
from siyu.audiences.rules.fields import OPERATORS, FieldType

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC).replace(tzinfo=None)
CUSTOMER_IDS = list(range(1, 7))
MICRO = timedelta(microseconds=1)
DAY = timedelta(days=1)
# Moments on and around the edges of 1-, 7- and 30-day windows, and in the future.
MOMENTS = [
    NOW,
    NOW - MICRO,
    NOW + MICRO,
    NOW - DAY,
    NOW - DAY - MICRO,
    NOW - DAY + MICRO,
    NOW - 7 * DAY,
    NOW - 7 * DAY - MICRO,
    NOW - 7 * DAY + MICRO,
    NOW - 30 * DAY,
    NOW - 30 * DAY - MICRO,
    NOW - 36 * timedelta(hours=1),
    NOW - 400 * DAY,
    NOW + DAY,
]
DATES = [date(2026, 11, 23), date(2026, 11, 16), date(2026, 1, 1), date(1990, 5, 20)]
CITIES = ["上海", "北京", "it's", "上海市"]
STRINGS = ["上海", "北京", "口红", "眼影", "gold", "silver", "mp", "oa", "female", "it's", "%_"]
FRAGMENTS = ["上", "海", "'", "gold", "%"]
CATEGORY_NAMES = ["口红", "眼影", "it's"]
TOUCHPOINTS = ["mp", "oa", "wecom"]
EVENT_TYPES = ["product_view", "order_paid", "custom.look"]
JSON_VALUES: list[Any] = ["x", "3", 3, 2.5, True, "true", -1, "口红", None]
PROPERTY_KEYS = ["a", "b"]
TAG_IDS = [1, 2, 3]
IDENTITY_KINDS = list(catalogue.IDENTITIES)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


moments = st.sampled_from(MOMENTS)
ids = st.sampled_from([1, 2, 3, 99])


@st.composite
def customer_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for customer_id in CUSTOMER_IDS:
        rows.append(
            {
                "customer_id": customer_id,
                "status": draw(st.sampled_from(["active", "active", "active", "merged", "erased"])),
                "guide_id": draw(_maybe(st.sampled_from([1, 2]))),
                "store_id": draw(_maybe(st.sampled_from([1, 2]))),
                "gender": draw(_maybe(st.sampled_from(["female", "male"]))),
                "city": draw(_maybe(st.sampled_from(CITIES))),
                "birthday": draw(_maybe(st.sampled_from(DATES))),
                "first_touchpoint": draw(_maybe(st.sampled_from(TOUCHPOINTS))),
                "last_touchpoint": draw(_maybe(st.sampled_from(TOUCHPOINTS))),
                "created_at": draw(moments),
            }
        )
    return rows


def _trait_value(item: catalogue.Field) -> st.SearchStrategy[Any]:
    by_type: dict[FieldType, st.SearchStrategy[Any]] = {
        FieldType.INTEGER: st.sampled_from([0, 1, 2, 3, 5]),
        FieldType.MONEY: st.sampled_from([0, 100, 5000, 9999]),
        FieldType.DECIMAL: st.sampled_from([0.5, 1.0, 30.25]),
        FieldType.ID: ids,
        FieldType.STRING: st.sampled_from(
            [choice for choice, _zh, _en in item.choices][:3] or STRINGS
        ),
        FieldType.BOOLEAN: st.booleans(),
        FieldType.DATETIME: moments,
        FieldType.DATE: st.sampled_from(DATES),
    }
    return _maybe(by_type[item.type])


@st.composite
def trait_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for customer_id in draw(st.lists(st.sampled_from(CUSTOMER_IDS), unique=True)):
        row: dict[str, Any] = {"customer_id": customer_id}
        for name, item in catalogue.TRAITS.items():
            if name not in catalogue.DERIVED_TRAITS:
                row[name] = draw(_trait_value(item))
        rows.append(row)
    return rows


def _properties(draw: st.DrawFn) -> str | None:
    if draw(st.booleans()):
        return None
    document = {
        key: draw(st.sampled_from(JSON_VALUES))
        for key in draw(st.lists(st.sampled_from(PROPERTY_KEYS), unique=True))
    }
    return json.dumps(document, ensure_ascii=False)


@st.composite
def datasets(draw: st.DrawFn) -> RuleDataset:
    customer = st.sampled_from(CUSTOMER_IDS)
    events = []
    for number in range(draw(st.integers(0, 24))):
        occurred_at = draw(moments)
        events.append(
            {
                "id": number,
                "customer_id": draw(_maybe(customer)),
                "type": draw(st.sampled_from([*EVENT_TYPES[:2], *EVENT_TYPES])),
                "occurred_at": occurred_at,
                "day": occurred_at.date(),
                "touchpoint": draw(_maybe(st.sampled_from(TOUCHPOINTS))),
                "category_id": draw(_maybe(st.sampled_from([1, 2, 3, 99]))),
                "product_id": draw(_maybe(ids)),
                "campaign_id": draw(_maybe(ids)),
                "channel_code_id": draw(_maybe(ids)),
                "guide_id": draw(_maybe(ids)),
                "properties": _properties(draw),
            }
        )
    orders = []
    lines = []
    for order_id in range(1, draw(st.integers(0, 6)) + 1):
        created_at = draw(moments) - draw(st.sampled_from([timedelta(0), 3 * DAY]))
        orders.append(
            {
                "order_id": order_id,
                "customer_id": draw(_maybe(customer)),
                "created_at": created_at,
                "paid_at": draw(
                    _maybe(st.just(created_at + draw(st.sampled_from([MICRO, 3 * DAY]))))
                ),
                "day": created_at.date(),
                "total_amount": draw(st.sampled_from([0, 100, 5000])),
                "touchpoint": draw(_maybe(st.sampled_from(TOUCHPOINTS))),
                "store_id": draw(_maybe(ids)),
                "channel_code_id": draw(_maybe(ids)),
                "campaign_id": draw(_maybe(ids)),
            }
        )
        for _line in range(draw(st.integers(0, 2))):
            lines.append(
                {
                    "line_id": len(lines) + 1,
                    "order_id": order_id,
                    "category_id": draw(_maybe(st.sampled_from([1, 2, 3]))),
                    "product_id": draw(_maybe(ids)),
                }
            )
    pairs = st.tuples(customer, st.sampled_from(TAG_IDS))
    return RuleDataset(
        customers=draw(customer_rows()),
        traits=draw(trait_rows()),
        customer_tags=[
            {"customer_id": c, "tag_id": t}
            for c, t in draw(st.lists(pairs, unique=True, max_size=8))
        ],
        identities=[
            {"customer_id": c, "kind": k, "namespace": ""}
            for c, k in draw(
                st.lists(
                    st.tuples(customer, st.sampled_from(IDENTITY_KINDS[:7])),
                    unique=True,
                    max_size=8,
                )
            )
        ],
        active_staff_links=[
            {"customer_id": c, "staff_id": 1}
            for c in draw(st.lists(customer, unique=True, max_size=4))
        ],
        memberships=[
            {"customer_id": c, "tier_id": draw(st.sampled_from([1, 2, 9]))}
            for c in draw(st.lists(customer, unique=True, max_size=6))
        ],
        tiers=[
            {"tier_id": 1, "code": "gold", "rank": 2},
            {"tier_id": 2, "code": "silver", "rank": 1},
        ],
        categories=[
            {"category_id": 1, "name": "口红"},
            {"category_id": 2, "name": "眼影"},
            {"category_id": 3, "name": None},
        ],
        events=events,
        orders=orders,
        order_lines=lines,
    )


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat()


def _scalar(kind: FieldType, item: catalogue.Field | None) -> st.SearchStrategy[Any]:
    if kind is FieldType.STRING:
        choices = [choice for choice, _zh, _en in item.choices][:3] if item else []
        return st.sampled_from(choices + STRINGS + CATEGORY_NAMES)
    return {
        FieldType.INTEGER: st.sampled_from([0, 1, 2, 3, 5, 12]),
        FieldType.MONEY: st.sampled_from([0, 100, 5000, 9999]),
        FieldType.DECIMAL: st.sampled_from([0.5, 1, 30.25]),
        FieldType.ID: ids,
        FieldType.BOOLEAN: st.booleans(),
        FieldType.DATETIME: moments.map(_iso),
        FieldType.DATE: st.sampled_from(DATES).map(date.isoformat),
        FieldType.JSON: st.sampled_from([value for value in JSON_VALUES if value is not None]),
    }[kind]


@st.composite
def operations(draw: st.DrawFn, item: catalogue.Field) -> dict[str, Any]:
    op = draw(st.sampled_from(OPERATORS[item.type]))
    scalar = _scalar(item.type, item)
    if op in ("is_set", "is_not_set"):
        return {"op": op}
    if op in ("within_days", "before_days"):
        return {"op": op, "value": draw(st.sampled_from([1, 7, 30]))}
    if op == "contains":
        return {"op": op, "value": draw(st.sampled_from(FRAGMENTS))}
    if item.type is FieldType.JSON and op in (">", ">=", "<", "<=", "between"):
        scalar = st.sampled_from([3, 2.5, -1, 0])
    if op in ("in", "not_in"):
        if item.type is FieldType.JSON:
            # One list holds text or numbers, never both.
            pool = draw(st.sampled_from([["x", "3", "true", "口红"], [3, 2.5, -1]]))
            scalar = st.sampled_from(pool)
        return {"op": op, "value": draw(st.lists(scalar, min_size=1, max_size=3))}
    if op == "between":
        low, high = sorted(draw(st.lists(scalar, min_size=2, max_size=2)))
        return {"op": op, "value": [low, high]}
    return {"op": op, "value": draw(scalar)}


@st.composite
def field_conditions(draw: st.DrawFn) -> dict[str, Any]:
    source = draw(st.sampled_from(["trait", "attribute"]))
    known = catalogue.TRAITS if source == "trait" else catalogue.ATTRIBUTES
    item = known[draw(st.sampled_from(sorted(known)))]
    return {source: item.name, **draw(operations(item))}


@st.composite
def event_conditions(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from([*EVENT_TYPES, "order"]))
    names = (
        list(catalogue.ORDER_PROPERTIES)
        if event_type == "order"
        else [*catalogue.EVENT_PROPERTIES, "properties.a", "properties.b"]
    )
    where = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        name = draw(st.sampled_from(names))
        item = catalogue.property_field(event_type, name)
        assert item is not None
        where.append({"property": name, **draw(operations(item))})
    condition: dict[str, Any] = {"event": event_type, "where": where}
    if draw(st.booleans()):
        condition["count"] = {
            "op": draw(st.sampled_from(["=", "!=", ">", ">=", "<", "<="])),
            "value": draw(st.integers(0, 3)),
        }
    if draw(st.sampled_from(["days", "days", "days", "range"])) == "days":
        condition["window"] = {"days": draw(st.sampled_from([1, 7, 30]))}
    else:
        start, end = sorted(draw(st.lists(moments, min_size=2, max_size=2, unique=True)))
        condition["window"] = {"from": _iso(start), "to": _iso(end)}
    return condition


leaves = st.one_of(
    field_conditions(),
    event_conditions(),
    event_conditions(),
    st.fixed_dictionaries({"tag": st.sampled_from(TAG_IDS), "has": st.booleans()}),
    st.fixed_dictionaries({"identity": st.sampled_from(IDENTITY_KINDS), "has": st.booleans()}),
)
rules = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.fixed_dictionaries({"all": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not": children}),
    ),
    max_leaves=5,
)
