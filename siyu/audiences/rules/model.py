"""The parsed rule tree: small frozen dataclasses the compiler, the evaluator and the
describer walk. ``parse`` builds them from JSON; nothing else constructs them from
untrusted input, so every name in here has already been checked against the field
catalogue and every value has the field's type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# A normalised value: int / float / str / bool, naive-UTC datetime, date, a tuple of
# those (in / not_in), a (low, high) pair (between), or None (is_set / is_not_set).
Value = Any


@dataclass(frozen=True)
class All:
    children: tuple[Rule, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    child: Rule


@dataclass(frozen=True)
class FieldCondition:
    """A trait or an attribute compared with a value."""

    source: str  # "trait" | "attribute"
    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class TagCondition:
    tag_id: int
    has: bool


@dataclass(frozen=True)
class IdentityCondition:
    kind: str
    has: bool


@dataclass(frozen=True)
class PropertyFilter:
    property: str  # a catalogue property, or "properties.<key>"
    op: str
    value: Value


@dataclass(frozen=True)
class Window:
    """Either the last ``days`` days up to now (both ends included), or the fixed
    interval [start, end) in naive UTC."""

    days: int | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class EventCondition:
    type: str  # a tracked event type, "custom.*", or the pseudo-event "order"
    where: tuple[PropertyFilter, ...]
    count_op: str
    count_value: int
    window: Window


Condition = FieldCondition | TagCondition | IdentityCondition | EventCondition
Rule = All | AnyOf | Not | Condition
