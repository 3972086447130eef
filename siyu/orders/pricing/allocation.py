"""Splitting an amount across lines so that the parts add up exactly."""

from __future__ import annotations

from collections.abc import Sequence


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` in proportion to ``weights`` (largest-remainder method).

    The parts always sum to ``amount``; leftover fen go to the largest remainders,
    ties to the earlier line, so the result is deterministic. All-zero weights split
    evenly. Used for order-level discounts and shipping: a partial refund of a line
    then returns exactly what that line cost.
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    if not weights:
        if amount:
            raise ValueError("cannot allocate a non-zero amount over no lines")
        return []
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    total = sum(weights)
    effective = list(weights) if total > 0 else [1] * len(weights)
    total = sum(effective)
    shares = [amount * weight // total for weight in effective]
    remainders = [amount * weight % total for weight in effective]
    leftover = amount - sum(shares)
    order = sorted(range(len(effective)), key=lambda index: (-remainders[index], index))
    for index in order[:leftover]:
        shares[index] += 1
    return shares
