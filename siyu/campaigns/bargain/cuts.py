"""The cut plan: how much each helper of a bargain cuts, drawn from its stored seed.

``plan(seed, gap, helpers)`` returns ``helpers`` cuts (integer fen, each ≥ 1) that sum
to exactly ``gap`` (start price − floor), largest first, so the floor is reached by
the K-th helper and the last cuts are small. Only integer arithmetic on
``random.Random(seed)`` draws: the same seed gives the same plan on any machine and
any Python ≥ 3.2, which is what the audit recomputes.

Weights are ``randint(600, 1400) × (K − i)²``: a random ±40 % around a quadratic
decay, so the first friend cuts a lot (the hook) and the K-th only a few fen.
"""

from __future__ import annotations

import random
import secrets

SEED_BYTES = 16


def new_seed() -> str:
    return secrets.token_hex(SEED_BYTES)


def plan(seed: str, gap: int, helpers: int) -> list[int]:
    if helpers < 1 or gap < helpers:
        raise ValueError("the gap must give every helper at least one fen")
    rng = random.Random(seed)
    weights = [rng.randint(600, 1400) * (helpers - index) ** 2 for index in range(helpers)]
    total_weight = sum(weights)
    spare = gap - helpers
    cuts = [1 + spare * weight // total_weight for weight in weights]
    # Largest remainders first (ties by position) take the fen that floor division left.
    leftover = gap - sum(cuts)
    by_remainder = sorted(
        range(helpers), key=lambda index: (-(spare * weights[index] % total_weight), index)
    )
    for index in by_remainder[:leftover]:
        cuts[index] += 1
    return sorted(cuts, reverse=True)


def prices_after(start_price: int, cuts: list[int]) -> list[int]:
    """The price after each help: ``start − cumulative cut``; the last is the floor."""
    prices: list[int] = []
    price = start_price
    for cut in cuts:
        price -= cut
        prices.append(price)
    return prices
