"""The cut plan: exact sums, at least a fen each, largest first, reproducible."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.campaigns.bargain import cuts


@given(
    seed=st.text(min_size=1, max_size=40),
    helpers=st.integers(min_value=1, max_value=100),
    extra=st.integers(min_value=0, max_value=10_000_000),
)
def test_plan_sums_to_the_gap_largest_first(seed: str, helpers: int, extra: int) -> None:
    gap = helpers + extra
    plan = cuts.plan(seed, gap, helpers)
    assert len(plan) == helpers
    assert sum(plan) == gap
    assert min(plan) >= 1
    assert plan == sorted(plan, reverse=True)
    assert cuts.plan(seed, gap, helpers) == plan


def test_known_plan_is_stable_across_runs() -> None:
    # Recorded once: if this changes, every stored bargain's audit would fail.
    assert cuts.plan("abc", 9900, 10) == [2969, 2026, 1464, 1388, 745, 740, 330, 148, 75, 15]
    assert cuts.prices_after(12900, [6000, 3000, 900]) == [6900, 3900, 3000]


def test_last_cuts_are_small() -> None:
    plan = cuts.plan(cuts.new_seed(), 10_000, 10)
    assert plan[-1] * 10 < plan[0]
    assert sum(plan[-3:]) < sum(plan[:3]) // 4


def test_gap_must_cover_one_fen_per_helper() -> None:
    with pytest.raises(ValueError, match="at least one fen"):
        cuts.plan("x", 4, 5)
