"""The arithmetic of goals, property-tested: splits add up to the fen, the decomposition
identity holds, spreads roll up exactly and the LMDI contributions sum to the gap."""

from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.analytics.goals_plan import (
    SegmentActual,
    behind_factor,
    daily_weights,
    days_of,
    explicit_plan,
    gap_contributions,
    largest_remainder,
    roll_up,
    scale_to_target,
)
from siyu.analytics.period import Grain

targets = st.integers(min_value=1, max_value=10**12)
segments = st.builds(
    lambda customers, extra, gmv: SegmentActual(customers, customers + extra, gmv),
    st.integers(min_value=1, max_value=100_000),
    st.integers(min_value=0, max_value=300_000),
    st.integers(min_value=1, max_value=10**10),
)


@settings(deadline=None)
@given(total=st.integers(0, 10**12), weights=st.lists(st.floats(0, 1e6), min_size=1, max_size=400))
def test_largest_remainder_is_exact_and_fair(total: int, weights: list[float]) -> None:
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        quota = total * weight / whole if whole else total / len(weights)
        assert abs(part - quota) < 1 + 1e-6 * max(1.0, quota)


def test_largest_remainder_gives_ties_to_earlier_parts() -> None:
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(7, [0, 0]) == [4, 3]  # no weight: even
    assert largest_remainder(100, [3, 1]) == [75, 25]


@settings(max_examples=300, deadline=None)
@given(new=segments, returning=segments, target=targets)
def test_scaling_keeps_aov_frequency_and_the_identity(
    new: SegmentActual, returning: SegmentActual, target: int
) -> None:
    plan_new, plan_returning = scale_to_target({"new": new, "returning": returning}, target)
    assert plan_new.amount + plan_returning.amount == target
    # Exact, as the plan scales: a float ratio can push a half-way count across .5.
    ratio = Fraction(target, new.gmv + returning.gmv)
    for plan, base in ((plan_new, new), (plan_returning, returning)):
        assert plan.frequency == base.frequency
        assert plan.customers == max(round(base.customers * ratio), 1 if plan.amount else 0)
        # The identity: customers × AOV × frequency is the segment's amount.
        assert math.isclose(plan.product, plan.amount, rel_tol=1e-9, abs_tol=1e-6)
        if plan.amount and plan.customers == round(base.customers * ratio):
            # Only the rounding of customers (and of the amount, by < 1 fen) moves the
            # AOV away from the base's.
            expected = base.aov * (base.customers * ratio) / plan.customers
            assert math.isclose(plan.aov, expected, rel_tol=1 / plan.amount + 1e-9)


def test_scaling_an_exact_base() -> None:
    base = {"new": SegmentActual(100, 120, 1_200_000), "returning": SegmentActual(50, 100, 800_000)}
    plan_new, plan_returning = scale_to_target(base, 4_000_000)
    assert (plan_new.customers, plan_new.frequency, plan_new.aov, plan_new.amount) == (
        200,
        1.2,
        10_000.0,
        2_400_000,
    )
    assert (plan_returning.customers, plan_returning.frequency, plan_returning.amount) == (
        100,
        2.0,
        1_600_000,
    )


def test_explicit_factors_must_multiply_out_to_the_target() -> None:
    plans = explicit_plan((100, 10_000.0, 1.0), (50, 20_000.0, 2.0), 3_000_000)
    assert plans is not None
    assert [plan.amount for plan in plans] == [1_000_000, 2_000_000]
    # ¥1 off is within the tolerance and the amounts still add up to the target.
    close = explicit_plan((100, 10_001.0, 1.0), (50, 20_000.0, 2.0), 3_000_000)
    assert close is not None
    assert sum(plan.amount for plan in close) == 3_000_000
    assert explicit_plan((100, 10_000.0, 1.0), (50, 20_000.0, 2.0), 4_000_000) is None


@settings(max_examples=100, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    length=st.integers(1, 366),
    base_values=st.lists(st.integers(0, 10**7), min_size=1, max_size=120),
    target=targets,
)
def test_spreads_add_up_exactly(
    start: date, length: int, base_values: list[int], target: int
) -> None:
    days = days_of(start, start + timedelta(days=length - 1))
    base_start = start - timedelta(days=365)
    base = {base_start + timedelta(days=i): value for i, value in enumerate(base_values)}
    daily = largest_remainder(target, daily_weights(base, days))
    assert len(daily) == length
    assert sum(daily) == target
    assert min(daily) >= 0
    for grain in Grain:
        rolled = roll_up(days, daily, grain)
        assert sum(amount for _bucket, amount in rolled) == target
        assert [bucket for bucket, _amount in rolled] == sorted({b for b, _a in rolled})


def test_weights_follow_the_base_weekday_shape() -> None:
    # Two base weeks selling 1 on weekdays and 3 on Saturdays (Monday 2026-01-05).
    base = {date(2026, 1, 5) + timedelta(days=i): 3 if (i % 7) == 5 else 1 for i in range(14)}
    days = days_of(date(2026, 2, 2), date(2026, 2, 8))  # Monday to Sunday
    weights = daily_weights(base, days)
    # Weekday index: Saturday 3 / mean (17/14), others 1 / mean; day-of-month flat.
    spread = largest_remainder(900, weights)
    assert spread == [100, 100, 100, 100, 100, 300, 100]
    assert daily_weights({}, days) == [1.0] * 7


@settings(deadline=None)
@given(
    planned=st.tuples(st.floats(0.1, 1e4), st.floats(1, 1e6), st.floats(0.5, 5)),
    planned_returning=st.tuples(st.floats(0.1, 1e4), st.floats(1, 1e6), st.floats(0.5, 5)),
    new=segments,
    returning=segments,
)
def test_contributions_add_up_to_the_gap(
    planned: tuple[float, float, float],
    planned_returning: tuple[float, float, float],
    new: SegmentActual,
    returning: SegmentActual,
) -> None:
    plan = {"new": planned, "returning": planned_returning}
    rows = gap_contributions(plan, {"new": new, "returning": returning})
    gap = (new.gmv + returning.gmv) - sum(c * a * f for c, a, f in plan.values())
    assert math.isclose(sum(row.contribution for row in rows), gap, rel_tol=1e-9, abs_tol=1e-3)


def test_a_segment_with_no_sales_puts_its_gap_on_customers() -> None:
    plan = {"new": (10.0, 100.0, 1.0), "returning": (5.0, 200.0, 2.0)}
    actual = {"new": SegmentActual(), "returning": SegmentActual(5, 10, 2_000)}
    rows = {(row.segment, row.factor): row.contribution for row in gap_contributions(plan, actual)}
    assert rows[("new", "customers")] == -1_000.0
    assert rows[("new", "aov")] == rows[("new", "frequency")] == 0.0
    assert all(
        abs(rows[("returning", factor)]) < 1e-9 for factor in ("customers", "aov", "frequency")
    )
    worst = behind_factor(list(gap_contributions(plan, actual)))
    assert worst is not None
    assert (worst.segment, worst.factor) == ("new", "customers")


def test_a_day_the_base_sold_nothing_on_still_gets_a_tenth_of_an_average_day() -> None:
    # One base week (Monday 2026-01-05) selling nothing on Sunday.
    base = {date(2026, 1, 5) + timedelta(days=i): 0 if i == 6 else 600 for i in range(7)}
    weights = daily_weights(base, days_of(date(2026, 2, 2), date(2026, 2, 8)))
    assert all(math.isclose(weight, 7 / 6) for weight in weights[:6])
    # Sunday's index is 0; the mean weight is 6 × 7/6 / 7 = 1, so Sunday gets 0.1.
    assert math.isclose(weights[6], 0.1)
