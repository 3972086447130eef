"""The GMV driver tree: which factor moved GMV between two periods, and where.

Two identities (docs/metrics.md, "Driver tree"):

- ``funnel``: GMV = visitors × conversion × AOV × frequency, with conversion =
  buyers / visitors, AOV = GMV / orders, frequency = orders / buyers, so the product is
  GMV exactly (visitors include every buyer, so a period with orders has visitors);
- ``new_returning``: GMV = Σ over new and returning customers of
  customers × AOV × frequency (AOV and frequency of that group).

Each factor's contribution to the change is the additive LMDI (log-mean Divisia)
term ``L(G₁, G₀) · ln(x₁ / x₀)`` with ``L(a, b) = (a − b) / (ln a − ln b)`` and
``L(a, a) = a``; the terms add up to ``G₁ − G₀`` exactly in real numbers. LMDI needs
every factor positive in both periods; when one is zero (no orders in a period, or a
slice that did not exist), the contributions come from sequential substitution
instead — factors swapped from base to current one at a time in the order listed,
each contribution being the GMV change of its swap, which telescopes to the change
too. A ratio undefined in one period (AOV without orders) takes the other period's
value there, so it contributes nothing and the change lands on the factor that
went to zero. Contributions are then rounded to whole fen by largest remainder so
they add up to the change to the fen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from siyu.analytics.arithmetic import apportion, log_mean
from siyu.analytics.connection import Analytics
from siyu.analytics.metrics import Number, by_slices, derive, ratio, summaries
from siyu.analytics.period import Period
from siyu.analytics.slices import SliceBy


class Variant(StrEnum):
    FUNNEL = "funnel"
    NEW_RETURNING = "new_returning"


class Method(StrEnum):
    LMDI = "lmdi"
    SEQUENTIAL = "sequential"


FUNNEL_FACTORS: tuple[str, ...] = ("visitors", "conversion_rate", "aov", "purchase_frequency")
SEGMENT_FACTORS: tuple[str, ...] = ("customers", "aov", "purchase_frequency")
SEGMENTS: tuple[str, ...] = ("new", "returning")


def _filled(base: Sequence[Number], current: Sequence[Number]) -> tuple[list[float], list[float]]:
    """Undefined ratios take the other period's value (1 when undefined in both)."""
    filled_base: list[float] = []
    filled_current: list[float] = []
    for before, after in zip(base, current, strict=True):
        before_value = before if before is not None else (after if after is not None else 1.0)
        after_value = after if after is not None else before_value
        filled_base.append(float(before_value))
        filled_current.append(float(after_value))
    return filled_base, filled_current


def decompose(base: Sequence[Number], current: Sequence[Number]) -> tuple[list[float], Method]:
    """Real-valued contributions of each factor to ``prod(current) − prod(base)``."""
    before, after = _filled(base, current)
    if all(value > 0 for value in (*before, *after)):
        weight = log_mean(math.prod(after), math.prod(before))
        return [weight * math.log(a / b) for a, b in zip(after, before, strict=True)], Method.LMDI
    contributions: list[float] = []
    mixed = list(before)
    for index, value in enumerate(after):
        previous = math.prod(mixed)
        mixed[index] = value
        contributions.append(math.prod(mixed) - previous)
    return contributions, Method.SEQUENTIAL


@dataclass(frozen=True)
class Factor:
    key: str  # visitors, conversion_rate, aov, purchase_frequency, customers
    segment: str  # "" for the funnel, "new" / "returning" for the other variant
    base: Number
    current: Number
    contribution: int  # fen of GMV change explained by this factor

    @property
    def change(self) -> Number:
        if self.base is None or self.current is None:
            return None
        return self.current - self.base

    @property
    def change_rate(self) -> float | None:
        return ratio(self.change, self.base)


@dataclass(frozen=True)
class Decomposition:
    base_gmv: int
    current_gmv: int
    factors: list[Factor]
    method: Method

    @property
    def change(self) -> int:
        return self.current_gmv - self.base_gmv


@dataclass(frozen=True)
class DrillRow:
    slice: str | None
    label: str
    decomposition: Decomposition


@dataclass
class DriverTree:
    variant: Variant
    current: Period
    base: Period
    total: Decomposition
    drill_by: SliceBy | None = None
    drill: list[DrillRow] = field(default_factory=list)


def _funnel(base: dict[str, Any], current: dict[str, Any]) -> Decomposition:
    before = [base[key] for key in FUNNEL_FACTORS]
    after = [current[key] for key in FUNNEL_FACTORS]
    base_gmv, current_gmv = int(base["gmv"]), int(current["gmv"])
    raw, method = decompose(before, after)
    shares = apportion(raw, current_gmv - base_gmv)
    factors = [
        Factor(key, "", b, a, share)
        for key, b, a, share in zip(FUNNEL_FACTORS, before, after, shares, strict=True)
    ]
    return Decomposition(base_gmv, current_gmv, factors, method)


def segment_factors(values: dict[str, Any], segment: str) -> list[Number]:
    """customers, AOV and frequency of the new or returning customers of a period."""
    customers = values[f"{segment}_customers"]
    gmv, orders = values[f"{segment}_customer_gmv"], values[f"{segment}_customer_orders"]
    return [customers, ratio(gmv, orders), ratio(orders, customers)]


def _new_returning(base: dict[str, Any], current: dict[str, Any]) -> Decomposition:
    factors: list[Factor] = []
    methods: set[Method] = set()
    for segment in SEGMENTS:
        before, after = segment_factors(base, segment), segment_factors(current, segment)
        change = int(current[f"{segment}_customer_gmv"]) - int(base[f"{segment}_customer_gmv"])
        raw, method = decompose(before, after)
        methods.add(method)
        shares = apportion(raw, change)
        factors += [
            Factor(key, segment, b, a, share)
            for key, b, a, share in zip(SEGMENT_FACTORS, before, after, shares, strict=True)
        ]
    method = Method.LMDI if methods == {Method.LMDI} else Method.SEQUENTIAL
    return Decomposition(int(base["gmv"]), int(current["gmv"]), factors, method)


def decompose_values(
    variant: Variant, base: dict[str, Any], current: dict[str, Any]
) -> Decomposition:
    """The decomposition of two periods' metrics (dicts as ``metrics.summary`` returns)."""
    if variant is Variant.FUNNEL:
        return _funnel(base, current)
    return _new_returning(base, current)


def driver_tree(
    analytics: Analytics,
    current: Period,
    base: Period | None = None,
    *,
    variant: Variant = Variant.FUNNEL,
    drill_by: SliceBy | None = None,
) -> DriverTree:
    """GMV change from ``base`` (default: the period before ``current``) to ``current``,
    by factor, and — with ``drill_by`` — the same decomposition per slice value (each
    slice's contributions add up to its own GMV change; over an order-level slice the
    slices' changes add up to the total change)."""
    base = base or current.previous()
    base_values, current_values = summaries(analytics, [base, current])
    tree = DriverTree(
        variant=variant,
        current=current,
        base=base,
        total=decompose_values(variant, base_values, current_values),
        drill_by=drill_by,
    )
    if drill_by is None:
        return tree
    base_rows, current_rows = by_slices(analytics, [base, current], drill_by)
    before = {row["slice"]: row for row in base_rows}
    after = {row["slice"]: row for row in current_rows}
    empty = {key: 0 for key in next(iter((before | after).values()), {})}
    for value in sorted(before.keys() | after.keys(), key=lambda item: (item is None, str(item))):
        row_before = before.get(value) or _zeros(empty)
        row_after = after.get(value) or _zeros(empty)
        label = str((after.get(value) or before.get(value) or {}).get("label", value))
        tree.drill.append(DrillRow(value, label, decompose_values(variant, row_before, row_after)))
    tree.drill.sort(key=lambda row: -abs(row.decomposition.change))
    return tree


def _zeros(template: dict[str, Any]) -> dict[str, Any]:
    """A slice absent from one period: every count zero, every ratio undefined."""
    return derive({key: 0 for key in template})
