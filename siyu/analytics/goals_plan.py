"""The arithmetic of revenue goals, free of databases so it can be tested exhaustively.

A target is decomposed as the seeds do (目标拆解)::

    target = new customers × new AOV × new frequency
           + returning customers × returning AOV × returning frequency

then spread over the period's days in proportion to a daily shape, and paced against
what actually sold. Every split of an integer amount of fen uses the largest-remainder
method on exact fractions, so the parts always add up to the whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from siyu.analytics.arithmetic import log_mean
from siyu.analytics.period import Grain, bucket_of

SEGMENTS = ("new", "returning")
FACTORS = ("customers", "aov", "frequency")
MIN_DAY_WEIGHT = 0.1  # of the average day's weight


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` fen in proportion to ``weights`` (evenly if they sum to zero).

    Exact: each part is the floor of its exact quota and the fen left over go, one
    each, to the largest fractional remainders (earlier parts win ties)."""
    if not weights:
        return []
    exact = [Fraction(weight) if weight > 0 else Fraction(0) for weight in weights]
    whole = sum(exact)
    if whole == 0:
        exact, whole = [Fraction(1)] * len(weights), Fraction(len(weights))
    quotas = [total * weight / whole for weight in exact]
    parts = [math.floor(quota) for quota in quotas]
    left = total - sum(parts)
    order = sorted(range(len(quotas)), key=lambda index: (-(quotas[index] - parts[index]), index))
    for index in order[:left]:
        parts[index] += 1
    return parts


@dataclass(frozen=True)
class SegmentActual:
    """What one segment (new or returning customers) bought in a span of days."""

    customers: int = 0
    orders: int = 0
    gmv: int = 0

    @property
    def aov(self) -> float:
        return self.gmv / self.orders if self.orders else 0.0

    @property
    def frequency(self) -> float:
        return self.orders / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class SegmentPlan:
    customers: int
    aov: float  # fen per order
    frequency: float  # orders per customer
    amount: int  # fen; customers × aov × frequency, to the fen

    @property
    def product(self) -> float:
        return self.customers * self.aov * self.frequency


def _segment(customers: int, frequency: float, amount: int) -> SegmentPlan:
    # Whole customers, the frequency as given, and the AOV that makes the product the
    # segment's amount exactly (it absorbs the rounding of the customer count).
    aov = amount / (customers * frequency) if customers and frequency else 0.0
    return SegmentPlan(customers=customers, aov=aov, frequency=frequency, amount=amount)


def scale_to_target(
    base: Mapping[str, SegmentActual], target: int
) -> tuple[SegmentPlan, SegmentPlan]:
    """The plan for ``target`` from a base period's factors: keep each segment's AOV and
    frequency and scale both customer counts by target / base GMV.

    Why customers: AOV and frequency are habits that move slowly, while how many
    customers are acquired and brought back is what a plan commits to (campaigns,
    guides, recalls); one ratio for both segments keeps the base's new/returning mix."""
    total = sum(base[name].gmv for name in SEGMENTS)
    if total <= 0:
        raise ValueError("the base period has no GMV")
    amounts = largest_remainder(target, [max(base[name].gmv, 0) for name in SEGMENTS])
    ratio = Fraction(target, total)
    plans = []
    for name, amount in zip(SEGMENTS, amounts, strict=True):
        actual = base[name]
        customers = round(actual.customers * ratio)
        if amount > 0:
            customers = max(customers, 1)
        plans.append(_segment(customers, actual.frequency, amount))
    return plans[0], plans[1]


def factors_tolerance(target: int) -> float:
    """How far explicit factors' product may be from the target: 0.1% or ¥1."""
    return max(100.0, target * 0.001)


def explicit_plan(
    new: tuple[int, float, float], returning: tuple[int, float, float], target: int
) -> tuple[SegmentPlan, SegmentPlan] | None:
    """The plan from operator-given (customers, aov, frequency) per segment, or None when
    their products do not add up to the target within :func:`factors_tolerance`."""
    products = [customers * aov * frequency for customers, aov, frequency in (new, returning)]
    if abs(sum(products) - target) > factors_tolerance(target):
        return None
    amounts = largest_remainder(target, products)
    plans = [
        _segment(customers, frequency, amount)
        for (customers, _aov, frequency), amount in zip((new, returning), amounts, strict=True)
    ]
    return plans[0], plans[1]


def days_of(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def daily_weights(base_daily: Mapping[date, int], days: Sequence[date]) -> list[float]:
    """Each day's weight from the base period's daily GMV: a weekday index times a
    day-of-month index (all 1.0, i.e. even, when the base sold nothing).

    weekday index = mean GMV of the base's days with that weekday / mean GMV per day;
    day-of-month index = the same ratio for the day of month, on GMV with the weekday
    effect divided out first, so a month-long base is not counted twice; no day
    weighs less than :data:`MIN_DAY_WEIGHT` of the average."""
    base_days = list(base_daily)
    total = sum(max(value, 0) for value in base_daily.values())
    if not base_days or total <= 0:
        return [1.0] * len(days)
    mean = total / len(base_days)
    weekday: dict[int, float] = {}
    for number in range(7):
        values = [max(base_daily[day], 0) for day in base_days if day.weekday() == number]
        weekday[number] = (sum(values) / len(values)) / mean if values else 1.0
    adjusted = {
        day: max(base_daily[day], 0) / weekday[day.weekday()]
        for day in base_days
        if weekday[day.weekday()] > 0
    }
    adjusted_mean = sum(adjusted.values()) / len(adjusted) if adjusted else 0.0
    month_day: dict[int, float] = {}
    for number in range(1, 32):
        day_values = [value for day, value in adjusted.items() if day.day == number]
        month_day[number] = (
            (sum(day_values) / len(day_values)) / adjusted_mean
            if day_values and adjusted_mean
            else 1.0
        )
    weights = [weekday[day.weekday()] * month_day[day.day] for day in days]
    if sum(weights) <= 0:
        return [1.0] * len(days)
    # A day the base happened to sell nothing on (a small store's quiet day) still
    # gets a target: no day weighs less than a tenth of the average day.
    floor = MIN_DAY_WEIGHT * sum(weights) / len(weights)
    return [max(weight, floor) for weight in weights]


def roll_up(days: Sequence[date], amounts: Sequence[int], grain: Grain) -> list[tuple[date, int]]:
    """Daily amounts summed into the grain's buckets, in order."""
    buckets: dict[date, int] = {}
    for day, amount in zip(days, amounts, strict=True):
        bucket = bucket_of(day, grain)
        buckets[bucket] = buckets.get(bucket, 0) + amount
    return list(buckets.items())


@dataclass(frozen=True)
class Contribution:
    segment: str
    factor: str
    planned: float
    actual: float
    contribution: float  # fen of the gap (actual − planned to date) due to this factor


def gap_contributions(
    planned: Mapping[str, tuple[float, float, float]],
    actual: Mapping[str, SegmentActual],
) -> list[Contribution]:
    """Split (actual − planned) GMV to date over the six factors by LMDI-I: for a segment
    with planned V⁰ = c⁰·a⁰·f⁰ and actual V¹, factor x contributes L(V¹, V⁰)·ln(x¹/x⁰),
    L the logarithmic mean; the three add up exactly to V¹ − V⁰.

    ``planned`` is (customers, aov, frequency) per segment, customers prorated to date.
    A segment with nothing planned or nothing sold has no logarithm: its whole gap is
    put on customers (nobody came, or nobody was expected), AOV and frequency get 0."""
    rows: list[Contribution] = []
    for segment in SEGMENTS:
        plan_values = planned[segment]
        done = actual[segment]
        actual_values = (float(done.customers), done.aov, done.frequency)
        before = plan_values[0] * plan_values[1] * plan_values[2]
        after = float(done.gmv)
        computable = before > 0 and after > 0 and all(v > 0 for v in actual_values)
        for index, factor in enumerate(FACTORS):
            if computable:
                weight = log_mean(after, before)
                share = weight * math.log(actual_values[index] / plan_values[index])
            else:
                share = after - before if factor == "customers" else 0.0
            rows.append(
                Contribution(segment, factor, plan_values[index], actual_values[index], share)
            )
    return rows


def behind_factor(contributions: Sequence[Contribution]) -> Contribution | None:
    """The factor with the largest shortfall (most negative contribution), if any."""
    worst = min(contributions, key=lambda row: row.contribution, default=None)
    return worst if worst is not None and worst.contribution < 0 else None
