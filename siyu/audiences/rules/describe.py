"""The readable text of a rule, in Chinese or English, as the console shows it:
"近 7 天 浏览商品(类目 = 口红) ≥ 3 次 且 近 7 天 没有 付款订单"."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from siyu.audiences.rules import fields as catalogue
from siyu.audiences.rules.fields import Field, FieldType
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
    Window,
)
from siyu.audiences.rules.parse import LOCAL_ZONE

_SYMBOLS = {"=": "=", "!=": "≠", ">": ">", ">=": "≥", "<": "<", "<=": "≤"}
_WORDS = {
    "zh": {
        "and": " 且 ",
        "or": " 或 ",
        "not": "非",
        "in": "属于",
        "not_in": "不属于",
        "between": "介于",
        "contains": "包含",
        "is_set": "已设置",
        "is_not_set": "未设置",
        "within_days": "在近 {n} 天内",
        "before_days": "在 {n} 天以前",
        "has": "有",
        "has_not": "没有",
        "tag": "标签",
        "times": "次",
        "last_days": "近 {n} 天",
        "range": "{start} 至 {end}",
        "true": "是",
        "false": "否",
    },
    "en": {
        "and": " and ",
        "or": " or ",
        "not": "not ",
        "in": "in",
        "not_in": "not in",
        "between": "between",
        "contains": "contains",
        "is_set": "is set",
        "is_not_set": "is not set",
        "within_days": "within the last {n} days",
        "before_days": "more than {n} days ago",
        "has": "has",
        "has_not": "has no",
        "tag": "tag",
        "times": "times",
        "last_days": "in the last {n} days",
        "range": "from {start} to {end}",
        "true": "yes",
        "false": "no",
    },
}


def describe(
    rule: Rule, *, locale: str = "zh-CN", tag_names: Mapping[int, str] | None = None
) -> str:
    language = "zh" if locale.startswith("zh") else "en"
    return _Describer(language, tag_names or {}).rule(rule, top=True)


def _moment(value: datetime) -> str:
    local = value.replace(tzinfo=UTC).astimezone(LOCAL_ZONE)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{local:%Y-%m-%d}"
    return f"{local:%Y-%m-%d %H:%M}"


class _Describer:
    def __init__(self, language: str, tag_names: Mapping[int, str]) -> None:
        self.language = language
        self.words = _WORDS[language]
        self.tag_names = tag_names

    def rule(self, rule: Rule, *, top: bool = False) -> str:
        if isinstance(rule, All | AnyOf):
            joiner = self.words["and"] if isinstance(rule, All) else self.words["or"]
            text = joiner.join(self.rule(child) for child in rule.children)
            return text if top or len(rule.children) == 1 else f"({text})"
        if isinstance(rule, Not):
            inner = self.rule(rule.child)
            if not inner.startswith("("):
                inner = f"({inner})"
            return f"{self.words['not']}{inner}"
        if isinstance(rule, FieldCondition):
            known = catalogue.TRAITS if rule.source == "trait" else catalogue.ATTRIBUTES
            item = known[rule.field]
            return self.comparison(item, item.label(self.language), rule.op, rule.value)
        if isinstance(rule, TagCondition):
            name = self.tag_names.get(rule.tag_id, f"#{rule.tag_id}")
            verb = self.words["has" if rule.has else "has_not"]
            return f"{verb} {self.words['tag']} {name}"
        if isinstance(rule, IdentityCondition):
            zh, en = catalogue.IDENTITIES[rule.kind]
            verb = self.words["has" if rule.has else "has_not"]
            return f"{verb} {zh if self.language == 'zh' else en}"
        return self.event(rule)

    def value(self, item: Field, value: Any) -> str:
        if isinstance(value, bool):
            return self.words["true" if value else "false"]
        if isinstance(value, datetime):
            return _moment(value)
        if isinstance(value, date):
            return f"{value:%Y-%m-%d}"
        if item.type is FieldType.MONEY:
            # Imported here: siyu.web imports the console, whose pages import this module.
            from siyu.web.money import display_yuan

            return display_yuan(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        for choice, zh, en in item.choices:
            if choice == value:
                return zh if self.language == "zh" else en
        return str(value)

    def comparison(self, item: Field, label: str, op: str, value: Any) -> str:
        if op in ("is_set", "is_not_set"):
            return f"{label} {self.words[op]}"
        if op in ("within_days", "before_days"):
            return f"{label} {self.words[op].format(n=value)}"
        if op in ("in", "not_in"):
            listed = "、" if self.language == "zh" else ", "
            shown = listed.join(self.value(item, element) for element in value)
            return f"{label} {self.words[op]} [{shown}]"
        if op == "between":
            low, high = (self.value(item, element) for element in value)
            return f"{label} {self.words['between']} {low} ~ {high}"
        if op == "contains":
            return f"{label} {self.words['contains']} {self.value(item, value)}"
        return f"{label} {_SYMBOLS[op]} {self.value(item, value)}"

    def window(self, window: Window) -> str:
        if window.days is not None:
            return self.words["last_days"].format(n=window.days)
        assert window.start is not None
        assert window.end is not None
        end = window.end.replace(tzinfo=UTC).astimezone(LOCAL_ZONE)
        if (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0):
            # An end at midnight is exclusive: show the last day it includes.
            last = f"{end - timedelta(days=1):%Y-%m-%d}"
        else:
            last = _moment(window.end)
        return self.words["range"].format(start=_moment(window.start), end=last)

    def filter(self, event_type: str, item: PropertyFilter) -> str:
        field = catalogue.property_field(event_type, item.property)
        assert field is not None
        return self.comparison(field, field.label(self.language), item.op, item.value)

    def event(self, rule: EventCondition) -> str:
        label = catalogue.event_label(rule.type, self.language)
        if rule.where:
            separator = "，" if self.language == "zh" else ", "
            label += "(" + separator.join(self.filter(rule.type, item) for item in rule.where) + ")"
        window = self.window(rule.window)
        if (rule.count_op, rule.count_value) == ("=", 0):
            return f"{window} {self.words['has_not']} {label}"
        if (rule.count_op, rule.count_value) == (">=", 1):
            return f"{window} {self.words['has']} {label}"
        count = f"{_SYMBOLS[rule.count_op]} {rule.count_value} {self.words['times']}"
        return f"{window} {label} {count}"
