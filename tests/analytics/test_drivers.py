"""The driver-tree arithmetic: LMDI contributions add up exactly to the change (in
whole fen, whatever the factors), equal the textbook formula, and the zero cases fall
back to sequential substitution that still adds up."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.analytics import arithmetic, drivers
from siyu.analytics.metrics import derive
from tests.analytics import metrics_reference as ref

counts = st.integers(min_value=0, max_value=5_000)


def _period(visitors: int, buyers: int, orders_extra: int, gmv_per_order: int) -> dict:
    """Consistent metrics of one period: buyers ≤ visitors, orders ≥ buyers."""
    buyers = min(buyers, visitors)
    orders = buyers + (orders_extra if buyers else 0)
    gmv = orders * gmv_per_order
    half = buyers // 2
    new_orders = min(orders, half + (orders_extra // 2 if half else 0))
    return derive(
        {
            "visitors": visitors,
            "buyers": buyers,
            "orders": orders,
            "gmv": gmv,
            "new_customers": half,
            "new_customer_orders": new_orders if half else 0,
            "new_customer_gmv": (new_orders if half else 0) * gmv_per_order,
            "returning_customers": buyers - half,
            "returning_customer_orders": orders - (new_orders if half else 0),
            "returning_customer_gmv": gmv - (new_orders if half else 0) * gmv_per_order,
        }
    )


periods = st.builds(
    _period, counts, counts, st.integers(0, 3_000), st.integers(min_value=0, max_value=80_000)
)


@settings(max_examples=300, deadline=None)
@given(base=periods, current=periods, variant=st.sampled_from(list(drivers.Variant)))
def test_contributions_add_up_exactly(base: dict, current: dict, variant: drivers.Variant) -> None:
    result = drivers.decompose_values(variant, base, current)
    assert sum(factor.contribution for factor in result.factors) == current["gmv"] - base["gmv"]
    assert result.change == current["gmv"] - base["gmv"]
    if variant is drivers.Variant.NEW_RETURNING:
        for segment in drivers.SEGMENTS:
            parts = [factor for factor in result.factors if factor.segment == segment]
            change = current[f"{segment}_customer_gmv"] - base[f"{segment}_customer_gmv"]
            assert sum(factor.contribution for factor in parts) == change
    factors_positive = all(
        (value or 0) > 0
        for values in (base, current)
        for value in (values[key] for key in drivers.FUNNEL_FACTORS)
    )
    if variant is drivers.Variant.FUNNEL and factors_positive:
        assert result.method is drivers.Method.LMDI
        expected = ref.lmdi(
            [base[key] for key in drivers.FUNNEL_FACTORS],
            [current[key] for key in drivers.FUNNEL_FACTORS],
            (base["gmv"], current["gmv"]),
        )
        for factor, reference in zip(result.factors, expected, strict=True):
            assert abs(factor.contribution - reference) < 1.0 + 1e-6 * abs(reference)


@settings(max_examples=300, deadline=None)
@given(
    amounts=st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=12),
    slack=st.integers(-20, 20),
)
def test_apportion_keeps_the_total(amounts: list[float], slack: int) -> None:
    total = round(sum(amounts)) + slack
    rounded = arithmetic.apportion(amounts, total)
    assert sum(rounded) == total
    if slack == 0:
        for whole, amount in zip(rounded, amounts, strict=True):
            assert abs(whole - amount) < len(amounts) + 1


def test_log_mean() -> None:
    assert arithmetic.log_mean(5.0, 5.0) == 5.0
    assert math.isclose(arithmetic.log_mean(math.e, 1.0), (math.e - 1.0) / 1.0)


def test_a_period_without_orders_falls_back_to_substitution() -> None:
    base = _period(100, 0, 0, 0)  # visitors but no buyers: AOV and frequency undefined
    current = _period(120, 30, 10, 9_900)
    result = drivers.decompose_values(drivers.Variant.FUNNEL, base, current)
    assert result.method is drivers.Method.SEQUENTIAL
    contributions = {factor.key: factor.contribution for factor in result.factors}
    # Undefined ratios take the other period's value, so the change lands on the
    # factor that went from zero: conversion.
    assert contributions == {
        "visitors": 0,
        "conversion_rate": current["gmv"],
        "aov": 0,
        "purchase_frequency": 0,
    }
    empty = drivers.decompose_values(drivers.Variant.FUNNEL, derive({}), derive({}))
    assert [factor.contribution for factor in empty.factors] == [0, 0, 0, 0]
