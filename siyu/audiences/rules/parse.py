"""JSON rule → checked rule tree, or ``RuleInvalid`` with the JSON path of the fault.

Everything that later reaches SQL is decided here: names must be in the field
catalogue, operators must suit the field's type, values must have that type. Bounds
keep one rule cheap (nesting depth, number of conditions, list lengths).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.errors import RuleInvalid
from siyu.audiences.rules import fields as catalogue
from siyu.audiences.rules.fields import COUNT_OPERATORS, OPERATORS, Field, FieldType
from siyu.audiences.rules.model import (
    All,
    AnyOf,
    Condition,
    EventCondition,
    FieldCondition,
    IdentityCondition,
    Not,
    PropertyFilter,
    Rule,
    TagCondition,
    Window,
)
from siyu.events.catalogue import is_known_type
from siyu.models.customer import Tag

MAX_DEPTH = 6
MAX_CONDITIONS = 50
MAX_CHILDREN = 50
MAX_WHERE = 10
MAX_LIST = 1000
MAX_STRING = 200
MAX_DAYS = 36_500
MAX_COUNT = 1_000_000
INT64 = 2**63 - 1
# A value without an offset means wall-clock time where the brand operates.
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
# "properties.<key>": a plain key only, so the JSON path built from it is unambiguous.
_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_GROUP_KEYS = ("all", "any", "not")
_CONDITION_KEYS = ("trait", "attribute", "tag", "identity", "event")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse(data: Any, *, session: Session | None = None) -> Rule:
    """Check ``data`` and build the rule tree; with a session, tag ids must exist."""
    parser = _Parser()
    rule = parser.rule(data, "", 1)
    if session is not None and parser.tag_paths:
        known = set(session.scalars(select(Tag.id).where(Tag.id.in_(list(parser.tag_paths)))).all())
        for tag_id, path in parser.tag_paths.items():
            if tag_id not in known:
                raise RuleInvalid(path, f"no tag with id {tag_id}")
    return rule


def iter_conditions(rule: Rule) -> Iterator[Condition]:
    if isinstance(rule, All | AnyOf):
        for child in rule.children:
            yield from iter_conditions(child)
    elif isinstance(rule, Not):
        yield from iter_conditions(rule.child)
    else:
        yield rule


def referenced_tag_ids(rule: Rule) -> set[int]:
    return {item.tag_id for item in iter_conditions(rule) if isinstance(item, TagCondition)}


class _Parser:
    def __init__(self) -> None:
        self.conditions = 0
        self.tag_paths: dict[int, str] = {}

    def rule(self, data: Any, path: str, depth: int) -> Rule:
        if not isinstance(data, Mapping):
            raise RuleInvalid(path, "a rule must be a JSON object")
        if depth > MAX_DEPTH:
            raise RuleInvalid(path, f"rules may nest at most {MAX_DEPTH} levels deep")
        kinds = [key for key in (*_GROUP_KEYS, *_CONDITION_KEYS) if key in data]
        if len(kinds) != 1:
            expected = ", ".join((*_GROUP_KEYS, *_CONDITION_KEYS))
            raise RuleInvalid(path, f"a rule needs exactly one of: {expected}")
        kind = kinds[0]
        if kind in ("all", "any"):
            self._only(data, {kind}, path)
            children = data[kind]
            child_path = _join(path, kind)
            if not isinstance(children, list) or not children:
                raise RuleInvalid(child_path, "a group needs a non-empty list of rules")
            if len(children) > MAX_CHILDREN:
                raise RuleInvalid(child_path, f"a group holds at most {MAX_CHILDREN} rules")
            parsed = tuple(
                self.rule(child, f"{child_path}[{index}]", depth + 1)
                for index, child in enumerate(children)
            )
            return All(parsed) if kind == "all" else AnyOf(parsed)
        if kind == "not":
            self._only(data, {"not"}, path)
            return Not(self.rule(data["not"], _join(path, "not"), depth + 1))
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise RuleInvalid(path, f"a rule holds at most {MAX_CONDITIONS} conditions")
        if kind in ("trait", "attribute"):
            return self._field_condition(data, kind, path)
        if kind == "tag":
            return self._tag(data, path)
        if kind == "identity":
            return self._identity(data, path)
        return self._event(data, path)

    @staticmethod
    def _only(data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                raise RuleInvalid(_join(path, str(key)), "unknown key")

    def _field_condition(self, data: Mapping[str, Any], kind: str, path: str) -> FieldCondition:
        self._only(data, {kind, "op", "value"}, path)
        name = data[kind]
        known = catalogue.TRAITS if kind == "trait" else catalogue.ATTRIBUTES
        if not isinstance(name, str) or name not in known:
            raise RuleInvalid(_join(path, kind), f"unknown {kind} {_show(name)}")
        item = known[name]
        op, value = _operation(item, data, path)
        return FieldCondition(kind, name, op, value)

    def _tag(self, data: Mapping[str, Any], path: str) -> TagCondition:
        self._only(data, {"tag", "has"}, path)
        tag_id = data["tag"]
        if not _is_int(tag_id) or not 1 <= tag_id <= INT64:
            raise RuleInvalid(_join(path, "tag"), "a tag id must be a positive integer")
        self.tag_paths.setdefault(tag_id, _join(path, "tag"))
        return TagCondition(tag_id, _has(data, path))

    def _identity(self, data: Mapping[str, Any], path: str) -> IdentityCondition:
        self._only(data, {"identity", "has"}, path)
        kind = data["identity"]
        if not isinstance(kind, str) or kind not in catalogue.IDENTITIES:
            raise RuleInvalid(_join(path, "identity"), f"unknown identity kind {_show(kind)}")
        return IdentityCondition(kind, _has(data, path))

    def _event(self, data: Mapping[str, Any], path: str) -> EventCondition:
        self._only(data, {"event", "where", "count", "window"}, path)
        event_type = data["event"]
        if not isinstance(event_type, str) or not (
            event_type == catalogue.ORDER_EVENT or is_known_type(event_type)
        ):
            raise RuleInvalid(_join(path, "event"), f"unknown event type {_show(event_type)}")
        where_data = data.get("where", [])
        where_path = _join(path, "where")
        if not isinstance(where_data, list):
            raise RuleInvalid(where_path, "where must be a list of property filters")
        if len(where_data) > MAX_WHERE:
            raise RuleInvalid(where_path, f"at most {MAX_WHERE} property filters")
        where = tuple(
            _property_filter(event_type, item, f"{where_path}[{index}]")
            for index, item in enumerate(where_data)
        )
        count_op, count_value = _count(data.get("count"), _join(path, "count"))
        if "window" not in data:
            raise RuleInvalid(_join(path, "window"), "an event condition needs a window")
        window = _window(data["window"], _join(path, "window"))
        return EventCondition(event_type, where, count_op, count_value, window)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _has(data: Mapping[str, Any], path: str) -> bool:
    has = data.get("has", True)
    if not isinstance(has, bool):
        raise RuleInvalid(_join(path, "has"), "has must be true or false")
    return has


def _property_filter(event_type: str, data: Any, path: str) -> PropertyFilter:
    if not isinstance(data, Mapping):
        raise RuleInvalid(path, "a property filter must be a JSON object")
    for key in data:
        if key not in ("property", "op", "value"):
            raise RuleInvalid(_join(path, str(key)), "unknown key")
    name = data.get("property")
    item = property_item(event_type, name)
    if item is None:
        raise RuleInvalid(_join(path, "property"), f"unknown property {_show(name)}")
    op, value = _operation(item, data, path)
    return PropertyFilter(item.name, op, value)


def property_item(event_type: str, name: Any) -> Field | None:
    if not isinstance(name, str):
        return None
    if (
        event_type != catalogue.ORDER_EVENT
        and name.startswith(catalogue.PROPERTIES_PREFIX)
        and not _PROPERTY_KEY.match(name.removeprefix(catalogue.PROPERTIES_PREFIX))
    ):
        return None
    return catalogue.property_field(event_type, name)


def _count(data: Any, path: str) -> tuple[str, int]:
    if data is None:
        return ">=", 1
    if not isinstance(data, Mapping):
        raise RuleInvalid(path, 'count must be an object like {"op": ">=", "value": 3}')
    for key in data:
        if key not in ("op", "value"):
            raise RuleInvalid(_join(path, str(key)), "unknown key")
    op = data.get("op")
    if op not in COUNT_OPERATORS:
        raise RuleInvalid(_join(path, "op"), f"unknown count operator {_show(op)}")
    value = data.get("value")
    if not _is_int(value) or not 0 <= value <= MAX_COUNT:
        raise RuleInvalid(_join(path, "value"), f"a count must be an integer 0..{MAX_COUNT}")
    return op, value


def _window(data: Any, path: str) -> Window:
    if not isinstance(data, Mapping) or not data:
        raise RuleInvalid(path, 'a window is {"days": N} or {"from": ISO, "to": ISO}')
    if "days" in data:
        for key in data:
            if key != "days":
                raise RuleInvalid(_join(path, str(key)), "unknown key")
        days = data["days"]
        if not _is_int(days) or days < 1:
            raise RuleInvalid(_join(path, "days"), "a window must be at least 1 day")
        if days > MAX_DAYS:
            raise RuleInvalid(_join(path, "days"), f"a window is at most {MAX_DAYS} days")
        return Window(days=days)
    for key in data:
        if key not in ("from", "to"):
            raise RuleInvalid(_join(path, str(key)), "unknown key")
    if "from" not in data or "to" not in data:
        raise RuleInvalid(path, "a fixed window needs both from and to")
    start = parse_moment(data["from"], _join(path, "from"))
    end = parse_moment(data["to"], _join(path, "to"), end_of_day=True)
    if end <= start:
        raise RuleInvalid(_join(path, "to"), "the window ends before it starts")
    return Window(start=start, end=end)


def parse_moment(value: Any, path: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time as naive UTC. A value without an offset is Shanghai
    wall-clock time; a bare date is its midnight (the next midnight for ``end_of_day``,
    so a window "to 2026-11-07" includes all of the 7th)."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise RuleInvalid(path, "expected an ISO date or date-time string")
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=LOCAL_ZONE)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=LOCAL_ZONE)
    except ValueError:
        raise RuleInvalid(path, f"not a valid date or date-time: {_show(value)}") from None
    # Checked before any arithmetic: year 1 or 9999 would overflow when shifted.
    if not 1900 <= moment.year <= 2200:
        raise RuleInvalid(path, "dates must fall between the years 1900 and 2200")
    if end_of_day and len(value) == 10:
        moment += timedelta(days=1)
    return moment.astimezone(UTC).replace(tzinfo=None)


def _parse_date(value: Any, path: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise RuleInvalid(path, "expected an ISO date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise RuleInvalid(path, f"not a valid date: {_show(value)}") from None
    if not 1900 <= day.year <= 2200:
        raise RuleInvalid(path, "dates must fall between the years 1900 and 2200")
    return day


def _operation(item: Field, data: Mapping[str, Any], path: str) -> tuple[str, Any]:
    op = data.get("op")
    allowed = OPERATORS[item.type]
    if not isinstance(op, str) or op not in allowed:
        raise RuleInvalid(
            _join(path, "op"),
            f"operator {_show(op)} does not apply to {item.name} ({item.type.value}); "
            f"use one of {', '.join(allowed)}",
        )
    value_path = _join(path, "value")
    value = data.get("value")
    if op in ("is_set", "is_not_set"):
        if value is not None:
            raise RuleInvalid(value_path, f"{op} takes no value")
        return op, None
    if op in ("within_days", "before_days"):
        if not _is_int(value) or not 1 <= value <= MAX_DAYS:
            raise RuleInvalid(value_path, f"{op} needs a number of days 1..{MAX_DAYS}")
        return op, value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleInvalid(value_path, f"{op} needs a non-empty list")
        if len(value) > MAX_LIST:
            raise RuleInvalid(value_path, f"{op} takes at most {MAX_LIST} values")
        items = tuple(
            _scalar(item, element, f"{value_path}[{index}]", op)
            for index, element in enumerate(value)
        )
        if item.type is FieldType.JSON and len({isinstance(x, str) for x in items}) > 1:
            raise RuleInvalid(value_path, "a list mixes text and numbers")
        return op, items
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RuleInvalid(value_path, "between needs a list [low, high]")
        low = _scalar(item, value[0], f"{value_path}[0]", op)
        high = _scalar(item, value[1], f"{value_path}[1]", op)
        if low > high:
            raise RuleInvalid(value_path, "between needs low <= high")
        return op, (low, high)
    return op, _scalar(item, value, value_path, op)


def _scalar(item: Field, value: Any, path: str, op: str) -> Any:
    kind = item.type
    if kind in (FieldType.INTEGER, FieldType.MONEY, FieldType.ID):
        if not _is_int(value):
            unit = " (fen)" if kind is FieldType.MONEY else ""
            raise RuleInvalid(path, f"{item.name} needs an integer{unit}, not {_show(value)}")
        if not -INT64 <= value <= INT64:
            raise RuleInvalid(path, "the number is out of range")
        return value
    if kind is FieldType.DECIMAL:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleInvalid(path, f"{item.name} needs a number, not {_show(value)}")
        if not math.isfinite(value) or abs(value) > 1e15:
            raise RuleInvalid(path, "the number is out of range")
        return float(value)
    if kind is FieldType.STRING:
        return _string(value, path, op)
    if kind is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise RuleInvalid(path, f"{item.name} needs true or false, not {_show(value)}")
        return value
    if kind is FieldType.DATETIME:
        return parse_moment(value, path)
    if kind is FieldType.DATE:
        return _parse_date(value, path)
    # JSON properties: text, a number, or a boolean (compared as the text true/false,
    # which is how the properties hold it once extracted).
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, str):
        if op in (">", ">=", "<", "<=", "between"):
            raise RuleInvalid(path, f"{op} compares numbers, not {_show(value)}")
        return _string(value, path, op)
    if isinstance(value, int | float):
        if op == "contains":
            raise RuleInvalid(path, "contains needs text")
        if not math.isfinite(value) or abs(value) > 1e15:
            raise RuleInvalid(path, "the number is out of range")
        return float(value)
    raise RuleInvalid(path, f"expected text, a number or true/false, not {_show(value)}")


def _string(value: Any, path: str, op: str) -> str:
    if not isinstance(value, str):
        raise RuleInvalid(path, f"expected text, not {_show(value)}")
    if len(value) > MAX_STRING:
        raise RuleInvalid(path, f"text is at most {MAX_STRING} characters")
    if "\x00" in value:
        raise RuleInvalid(path, "text may not contain NUL characters")
    if op == "contains" and not value:
        raise RuleInvalid(path, "contains needs some text")
    return value
