"""Validation: every bad rule is refused with the JSON path of its fault."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from siyu.audiences import rules
from siyu.audiences.errors import RuleInvalid
from siyu.audiences.rules import fields as catalogue
from siyu.models.audience import CustomerTrait
from siyu.models.customer import Tag
from tests.audiences.rules.strategies import NOW

LIPSTICK: dict[str, Any] = {
    "all": [
        {
            "event": "product_view",
            "where": [{"property": "category", "op": "=", "value": "口红"}],
            "count": {"op": ">=", "value": 3},
            "window": {"days": 7},
        },
        {"event": "order_paid", "count": {"op": "=", "value": 0}, "window": {"days": 7}},
    ]
}
VIEW = {"event": "product_view", "window": {"days": 7}}


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ([], "", "a rule must be a JSON object"),
        ({}, "", "a rule needs exactly one of"),
        ({"all": [], "any": []}, "", "a rule needs exactly one of"),
        ({"all": []}, "all", "a group needs a non-empty list of rules"),
        ({"any": {"trait": "aov"}}, "any", "a group needs a non-empty list of rules"),
        ({"all": [VIEW], "extra": 1}, "extra", "unknown key"),
        ({"trait": "shoe_size", "op": "=", "value": 1}, "trait", "unknown trait 'shoe_size'"),
        ({"attribute": "aov", "op": "=", "value": 1}, "attribute", "unknown attribute 'aov'"),
        (
            {"all": [VIEW, {"trait": "spend_30d", "op": ">", "value": "100"}]},
            "all[1].value",
            "spend_30d needs an integer (fen), not '100'",
        ),
        ({"trait": "spend_30d", "op": ">", "value": 1.5}, "value", "needs an integer (fen)"),
        ({"trait": "orders_total", "op": ">", "value": True}, "value", "needs an integer"),
        ({"attribute": "city", "op": ">", "value": "上海"}, "op", "operator '>' does not apply"),
        ({"trait": "last_order_at", "op": "contains", "value": "x"}, "op", "does not apply"),
        ({"attribute": "city", "op": "contains", "value": ""}, "value", "contains needs some text"),
        ({"attribute": "city", "op": "in", "value": []}, "value", "in needs a non-empty list"),
        ({"trait": "aov", "op": "between", "value": [5, 1]}, "value", "between needs low <= high"),
        ({"trait": "aov", "op": "is_set", "value": 3}, "value", "is_set takes no value"),
        (
            {"trait": "last_order_at", "op": "within_days", "value": 0},
            "value",
            "needs a number of days",
        ),
        ({"trait": "last_order_at", "op": ">", "value": "2026-13-01"}, "value", "not a valid date"),
        ({"trait": "last_order_at", "op": ">", "value": "yesterday"}, "value", "expected an ISO"),
        (
            {"trait": "last_order_at", "op": ">", "value": "0001-01-01"},
            "value",
            "between the years",
        ),
        (
            {"event": "scan", "window": {"from": "2026-01-01", "to": "9999-12-31"}},
            "window.to",
            "between the years",
        ),
        (
            {"trait": "next_order_from", "op": ">", "value": "2026-02-30"},
            "value",
            "not a valid date",
        ),
        ({"tag": "vip"}, "tag", "a tag id must be a positive integer"),
        ({"tag": 3, "has": "yes"}, "has", "has must be true or false"),
        ({"identity": "passport"}, "identity", "unknown identity kind 'passport'"),
        ({"event": "teleport", "window": {"days": 7}}, "event", "unknown event type 'teleport'"),
        ({"event": "product_view"}, "window", "an event condition needs a window"),
        ({"event": "product_view", "window": {}}, "window", "a window is"),
        ({"event": "product_view", "window": {"days": 0}}, "window.days", "at least 1 day"),
        ({"event": "product_view", "window": {"days": -3}}, "window.days", "at least 1 day"),
        ({"event": "product_view", "window": {"days": "7"}}, "window.days", "at least 1 day"),
        (
            {"event": "product_view", "window": {"from": "2026-11-07", "to": "2026-11-01"}},
            "window.to",
            "the window ends before it starts",
        ),
        ({"event": "product_view", "window": {"from": "2026-11-07"}}, "window", "needs both"),
        (
            {"event": "product_view", "count": {"op": "~", "value": 1}, "window": {"days": 1}},
            "count.op",
            "unknown count operator",
        ),
        (
            {"event": "product_view", "count": {"op": ">", "value": -1}, "window": {"days": 1}},
            "count.value",
            "a count must be an integer",
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "colour", "op": "=", "value": "红"}],
                "window": {"days": 1},
            },
            "where[0].property",
            "unknown property 'colour'",
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "properties.a.b", "op": "=", "value": 1}],
                "window": {"days": 1},
            },
            "where[0].property",
            "unknown property",
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "properties.size", "op": ">", "value": "L"}],
                "window": {"days": 1},
            },
            "where[0].value",
            "> compares numbers",
        ),
        (
            {
                "event": "order",
                "where": [{"property": "properties.a", "op": "=", "value": 1}],
                "window": {"days": 1},
            },
            "where[0].property",
            "unknown property",
        ),
        (
            {
                "event": "order",
                "where": [{"property": "total_amount", "op": ">", "value": "100"}],
                "window": {"days": 1},
            },
            "where[0].value",
            "total_amount needs an integer (fen)",
        ),
    ],
)
def test_bad_rules_are_refused_with_their_path(data: Any, path: str, reason: str) -> None:
    with pytest.raises(RuleInvalid) as caught:
        rules.parse(data)
    error = caught.value
    assert (error.status, error.code) == (400, "audience.rule_invalid")
    assert error.data["path"] == path
    assert reason in error.data["reason"]


def test_too_deep_and_too_many_conditions() -> None:
    deep: dict[str, Any] = VIEW
    for _ in range(6):
        deep = {"not": deep}
    with pytest.raises(RuleInvalid) as caught:
        rules.parse(deep)
    assert caught.value.data == {
        "path": "not.not.not.not.not.not",
        "reason": "rules may nest at most 6 levels deep",
    }
    many = {"any": [{"trait": "aov", "op": ">", "value": n} for n in range(51)]}
    with pytest.raises(RuleInvalid) as caught:
        rules.parse(many)
    assert caught.value.data["path"] == "any"
    wide = {"any": [{"all": [{"trait": "aov", "op": ">", "value": n}] * 10} for n in range(6)]}
    with pytest.raises(RuleInvalid) as caught:
        rules.parse(wide)
    assert caught.value.data == {
        "path": "any[5].all[0]",
        "reason": "a rule holds at most 50 conditions",
    }


def test_the_lipstick_lookers_parse() -> None:
    rule = rules.parse(LIPSTICK)
    assert rules.referenced_tag_ids(rule) == set()
    assert len(list(rules.iter_conditions(rule))) == 2


def test_unknown_tag_ids_are_refused_with_a_session(session: Session) -> None:
    tag = Tag(name="干性", group_name="肤质")
    session.add(tag)
    session.flush()
    data = {"any": [{"tag": tag.id}, {"tag": tag.id + 1000, "has": False}]}
    assert rules.referenced_tag_ids(rules.parse(data)) == {tag.id, tag.id + 1000}
    with pytest.raises(RuleInvalid) as caught:
        rules.parse(data, session=session)
    assert caught.value.data == {"path": "any[1].tag", "reason": f"no tag with id {tag.id + 1000}"}
    assert rules.parse({"tag": tag.id}, session=session) is not None


def test_the_catalogue_covers_every_trait_column() -> None:
    columns = {column.name for column in CustomerTrait.__table__.columns} - {"customer_id"}
    assert columns <= set(catalogue.TRAITS)
    assert set(catalogue.TRAITS) - columns == {"days_since_last_order", "days_since_last_active"}
    served = catalogue.catalogue()
    assert {item["name"] for item in served["traits"]} == set(catalogue.TRAITS)
    assert "order" in {item["type"] for item in served["events"]}


_KEYS = [
    "all",
    "any",
    "not",
    "trait",
    "attribute",
    "tag",
    "identity",
    "event",
    "op",
    "value",
    "has",
    "where",
    "count",
    "window",
    "days",
    "from",
    "to",
    "property",
]
_WORDS = [
    "aov",
    "city",
    "last_order_at",
    "next_order_from",
    "product_view",
    "order",
    "category",
    "properties.a",
    "oa_openid",
    "=",
    "in",
    "between",
    "within_days",
    "contains",
    "is_set",
    "2026-11-01",
    "2026-11-01T08:00:00Z",
    "9999-12-31",
    "",
]
_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(_WORDS),
        st.text(max_size=5),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(_KEYS), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(data=_json)
def test_any_json_parses_or_is_refused_cleanly(data: Any) -> None:
    """Whatever arrives, parse() answers with a rule or RuleInvalid, never a crash."""
    outcome: rules.Rule | RuleInvalid
    try:
        outcome = rules.parse(data)
    except RuleInvalid as error:
        outcome = error
    if isinstance(outcome, RuleInvalid):
        assert isinstance(outcome.data["path"], str)
        assert outcome.data["reason"]
    else:
        assert rules.describe(outcome)
        assert rules.compile_rule(outcome, now=NOW).sql.startswith("SELECT DISTINCT")
