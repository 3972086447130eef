"""A plain-Python evaluator of the rule language over an in-memory dataset.

It is the reference the compiled SQL is tested against (tests/audiences/rules): the
same rule over the same rows must select exactly the same customers. It reads rows
as the warehouse views hold them (``RuleDataset``), loops, and is deliberately
simple. The NULL semantics are those documented in ``compile.py``: every condition is
True or False; a comparison with a value that is not set is False.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from siyu.audiences.rules import fields as catalogue
from siyu.audiences.rules.compile import NUMBER_PATTERN
from siyu.audiences.rules.model import (
    All,
    AnyOf,
    EventCondition,
    FieldCondition,
    IdentityCondition,
    Not,
    PropertyFilter,
    Rule,
    TagCondition,
)
from siyu.warehouse.engine import naive_utc

Row = dict[str, Any]
_NUMBER = re.compile(NUMBER_PATTERN)


@dataclass
class RuleDataset:
    """Rows of the warehouse views (column names as in the views), plus the two
    OLTP-side tables ``open_context`` registers: customer_tags and active staff links."""

    customers: list[Row] = field(default_factory=list)
    traits: list[Row] = field(default_factory=list)
    customer_tags: list[Row] = field(default_factory=list)
    identities: list[Row] = field(default_factory=list)
    staff_links: list[Row] = field(default_factory=list)
    active_staff_links: list[Row] = field(default_factory=list)
    memberships: list[Row] = field(default_factory=list)
    tiers: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    order_lines: list[Row] = field(default_factory=list)
    products: list[Row] = field(default_factory=list)
    categories: list[Row] = field(default_factory=list)


def evaluate(
    dataset: RuleDataset, rule: Rule, *, now: datetime, restrict_to: set[int] | None = None
) -> list[int]:
    """Sorted ids of the live customers (status active) the rule selects."""
    evaluator = _Evaluator(dataset, naive_utc(now))
    selected = set()
    for customer in dataset.customers:
        customer_id = customer.get("customer_id")
        if customer_id is None or customer.get("status") != "active":
            continue
        if restrict_to is not None and customer_id not in restrict_to:
            continue
        if evaluator.test(rule, customer):
            selected.add(customer_id)
    return sorted(selected)


def compare(value: Any, op: str, operand: Any, now: datetime) -> bool:
    if op == "is_set":
        return value is not None
    if op == "is_not_set":
        return value is None
    if value is None:
        return False
    if op == "=":
        return bool(value == operand)
    if op == "!=":
        return bool(value != operand)
    if op == ">":
        return bool(value > operand)
    if op == ">=":
        return bool(value >= operand)
    if op == "<":
        return bool(value < operand)
    if op == "<=":
        return bool(value <= operand)
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    if op == "between":
        return bool(operand[0] <= value <= operand[1])
    if op == "contains":
        return operand in value
    if op == "within_days":
        return bool(now - timedelta(days=operand) <= value <= now)
    if op == "before_days":
        return bool(value < now - timedelta(days=operand))
    raise ValueError(f"unknown operator {op!r}")


def json_text(properties: str | None, key: str) -> str | None:
    """What DuckDB's json_extract_string gives for a top-level key."""
    if not properties:
        return None
    document = json.loads(properties)
    if not isinstance(document, dict):
        return None
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_number(text: str | None) -> float | None:
    if text is None or not _NUMBER.fullmatch(text):
        return None
    return float(text)


class _Evaluator:
    def __init__(self, dataset: RuleDataset, now: datetime) -> None:
        self.data = dataset
        self.now = now
        self.traits = {row["customer_id"]: row for row in dataset.traits}
        tiers = {row["tier_id"]: row for row in dataset.tiers}
        self.memberships: dict[int, Row] = {}
        for row in dataset.memberships:
            tier = tiers.get(row.get("tier_id"), {})
            self.memberships[row["customer_id"]] = {
                "tier": tier.get("code"),
                "tier_rank": tier.get("rank"),
            }
        self.category_names = {
            row["category_id"]: row.get("name")
            for row in dataset.categories
            if row.get("category_id") is not None
        }
        self.counts: dict[int, Counter[int]] = {}

    def test(self, rule: Rule, customer: Row) -> bool:
        if isinstance(rule, All):
            return all(self.test(child, customer) for child in rule.children)
        if isinstance(rule, AnyOf):
            return any(self.test(child, customer) for child in rule.children)
        if isinstance(rule, Not):
            return not self.test(rule.child, customer)
        customer_id = customer["customer_id"]
        if isinstance(rule, FieldCondition):
            return compare(self.field_value(rule, customer), rule.op, rule.value, self.now)
        if isinstance(rule, TagCondition):
            held = any(
                row["customer_id"] == customer_id and row["tag_id"] == rule.tag_id
                for row in self.data.customer_tags
            )
            return held == rule.has
        if isinstance(rule, IdentityCondition):
            return self.has_identity(rule.kind, customer_id) == rule.has
        counts = self.event_counts(rule)
        return compare(counts.get(customer_id, 0), rule.count_op, rule.count_value, self.now)

    def trait(self, customer_id: int, name: str) -> Any:
        row = self.traits.get(customer_id)
        value = None if row is None else row.get(name)
        if value is None:
            return catalogue.TRAITS[name].default
        return value

    def field_value(self, rule: FieldCondition, customer: Row) -> Any:
        customer_id = customer["customer_id"]
        if rule.source == "trait":
            if rule.field in catalogue.DERIVED_TRAITS:
                moment = self.trait(customer_id, catalogue.DERIVED_TRAITS[rule.field])
                if moment is None:
                    return None
                return (self.now - moment) // timedelta(days=1)
            return self.trait(customer_id, rule.field)
        if rule.field in ("tier", "tier_rank"):
            return self.memberships.get(customer_id, {}).get(rule.field)
        if rule.field == "birthday_month":
            birthday = customer.get("birthday")
            return None if birthday is None else birthday.month
        return customer.get(rule.field)

    def has_identity(self, kind: str, customer_id: int) -> bool:
        if kind == "subscribed":
            return bool(self.trait(customer_id, "is_subscribed"))
        if kind == "wecom_contact":
            return any(row["customer_id"] == customer_id for row in self.data.active_staff_links)
        return any(
            row["customer_id"] == customer_id and row["kind"] == kind
            for row in self.data.identities
        )

    def in_window(self, moment: datetime | None, rule: EventCondition) -> bool:
        if moment is None:
            return False
        window = rule.window
        if window.days is not None:
            return self.now - timedelta(days=window.days) <= moment <= self.now
        assert window.start is not None
        assert window.end is not None
        return window.start <= moment < window.end

    def property_value(self, row: Row, item: PropertyFilter) -> tuple[Any, str]:
        if item.property == "category":
            return self.category_names.get(row.get("category_id")), item.op
        if item.property.startswith(catalogue.PROPERTIES_PREFIX):
            key = item.property.removeprefix(catalogue.PROPERTIES_PREFIX)
            text = json_text(row.get("properties"), key)
            sample = item.value[0] if isinstance(item.value, tuple) else item.value
            if item.op in ("is_set", "is_not_set", "contains") or isinstance(sample, str):
                return text, item.op
            return json_number(text), item.op
        return row.get(item.property), item.op

    def matches(self, row: Row, item: PropertyFilter) -> bool:
        value, op = self.property_value(row, item)
        return compare(value, op, item.value, self.now)

    def event_counts(self, rule: EventCondition) -> Counter[int]:
        key = id(rule)
        if key in self.counts:
            return self.counts[key]
        counts: Counter[int] = Counter()
        if rule.type == catalogue.ORDER_EVENT:
            lines: dict[Any, list[Row]] = {}
            for line in self.data.order_lines:
                lines.setdefault(line.get("order_id"), []).append(line)
            for order in self.data.orders:
                if order.get("customer_id") is None or order.get("paid_at") is None:
                    continue
                if not self.in_window(order["paid_at"], rule):
                    continue
                if all(self.order_matches(order, lines, item) for item in rule.where):
                    counts[order["customer_id"]] += 1
        else:
            for event in self.data.events:
                if event.get("customer_id") is None or event.get("type") != rule.type:
                    continue
                if not self.in_window(event.get("occurred_at"), rule):
                    continue
                if all(self.matches(event, item) for item in rule.where):
                    counts[event["customer_id"]] += 1
        self.counts[key] = counts
        return counts

    def order_matches(self, order: Row, lines: dict[Any, list[Row]], item: PropertyFilter) -> bool:
        if item.property in catalogue.ORDER_LINE_PROPERTIES:
            # "An order line of that category": some line of the order passes.
            if order.get("order_id") is None:
                return False
            return any(self.matches(line, item) for line in lines.get(order["order_id"], []))
        return compare(order.get(item.property), item.op, item.value, self.now)
