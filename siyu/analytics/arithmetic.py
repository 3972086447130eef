"""Small exact-arithmetic helpers the decompositions and reports share: whole fen that
add up to a total (largest remainder) and the logarithmic mean of LMDI."""

from __future__ import annotations

import math
from collections.abc import Sequence


def apportion(amounts: Sequence[float], total: int) -> list[int]:
    """Whole numbers close to ``amounts`` adding up to ``total`` exactly: floors, then
    the remainder handed out one by one by largest fractional part (taken back by
    smallest when the floors overshoot); earlier amounts win ties."""
    if not amounts:
        return []
    floors = [math.floor(amount) for amount in amounts]
    left = total - sum(floors)
    by_fraction = sorted(range(len(amounts)), key=lambda i: (floors[i] - amounts[i], i))
    step = 1 if left > 0 else -1
    if step < 0:
        by_fraction.reverse()
    index = 0
    while left != 0:
        floors[by_fraction[index % len(amounts)]] += step
        left -= step
        index += 1
    return floors


def log_mean(a: float, b: float) -> float:
    """The logarithmic mean L(a, b) of two positive numbers; L(a, a) = a."""
    quotient = a / b
    if abs(quotient - 1.0) < 1e-9:  # (a − b) / ln(a / b) → a as b → a; avoid 0 / 0
        return (a + b) / 2
    return (a - b) / math.log(quotient)
