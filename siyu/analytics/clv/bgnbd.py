"""BG/NBD purchase-count model (Fader, Hardie & Lee 2005, "Counting your customers
the easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2)).

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after
each purchase they drop out with probability p ~ Beta(a, b). The individual
likelihood (their eq. 6) for frequency x, recency t_x and age T is

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + [x > 0] · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

evaluated here in logs with log-sum-exp so large x and T do not overflow.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit, gammaln, hyp2f1

from siyu.analytics.clv.fitting import (
    FitResult,
    FloatArray,
    RowLogLikelihood,
    fit_result,
    timed,
)
from siyu.analytics.clv.summary import CompressedRows, CustomerSummary, compress

MODEL = "bgnbd"
PARAMETERS = ("r", "alpha", "a", "b")


def row_log_likelihood(
    params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    survived = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + age)
    repeat = x > 0
    # Dropped out right after the last purchase (only possible with a repeat purchase).
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = (
        betaln(a + 1, b + x[repeat] - 1)
        - betaln(a, b)
        - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return common + np.logaddexp(survived, dropped)


def fast_row_log_likelihood(rows: CompressedRows) -> RowLogLikelihood:
    """``row_log_likelihood`` for these rows, factorised for speed: every term but the
    two logs of (α + time) depends on x alone, and x, t_x and T take few distinct
    values (hundreds) even among a million customers, so those terms are computed once
    per distinct value and gathered. A million customers fit in seconds this way."""
    distinct_x, x_index = np.unique(rows.frequency, return_inverse=True)
    distinct_age, age_index = np.unique(rows.age, return_inverse=True)
    distinct_t, t_index = np.unique(rows.recency, return_inverse=True)
    repeat_x = distinct_x > 0
    safe_x = np.maximum(distinct_x, 1.0)  # the dropped term exists for x > 0 only

    def evaluate(params: FloatArray) -> FloatArray:
        r, alpha, a, b = params
        shape = r + distinct_x
        base = betaln(a, b)
        common = gammaln(shape) - gammaln(r) + r * np.log(alpha)
        survived_x = betaln(a, b + distinct_x) - base
        dropped_x = np.where(repeat_x, betaln(a + 1, b + safe_x - 1) - base, -np.inf)
        row_shape = shape[x_index]
        survived = survived_x[x_index] - row_shape * np.log(alpha + distinct_age)[age_index]
        dropped = dropped_x[x_index] - row_shape * np.log(alpha + distinct_t)[t_index]
        return common[x_index] + np.logaddexp(survived, dropped)

    return evaluate


def fit(summary: CustomerSummary) -> FitResult:
    elapsed = timed()
    rows = compress(summary)
    # Start: a rate of about the observed mean purchases per unit time, a = 1, b = 2.
    mean_rate = max(
        float(np.average(rows.frequency / np.maximum(rows.age, 1e-9), weights=rows.counts)),
        1e-3,
    )
    start = (1.0, 1.0 / mean_rate, 1.0, 2.0)
    return fit_result(
        MODEL,
        PARAMETERS,
        fast_row_log_likelihood(rows),
        rows.counts,
        start,
        customers=len(summary),
        elapsed=elapsed,
    )


def probability_alive(params: dict[str, float], summary: CustomerSummary) -> FloatArray:
    """P(still alive | x, t_x, T) (their eq. 11); 1 for customers with no repeat purchase."""
    r, alpha, a, b = (params[name] for name in PARAMETERS)
    x, t_x, age = summary.frequency, summary.recency, summary.age
    repeat = x > 0
    log_odds = np.full_like(x, -np.inf)
    log_odds[repeat] = (
        np.log(a)
        - np.log(b + x[repeat] - 1)
        + (r + x[repeat]) * (np.log(alpha + age[repeat]) - np.log(alpha + t_x[repeat]))
    )
    return expit(-log_odds)


def _discounted_hypergeometric(
    r: float, alpha: float, a: float, b: float, x: FloatArray, age: FloatArray, horizon: float
) -> FloatArray:
    """((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z), z = t/(α+T+t).

    scipy's 2F1 fails (NaN or overflow) in different corners for different but equal
    forms of this value, so each customer gets the first finite one of: the published
    form in logs; Pfaff's 2F1(r+x, a−1; a+b+x−1; −t/(α+T)) (frequent buyers); Euler's
    (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z)."""
    c = a + b + x - 1
    z = horizon / (alpha + age + horizon)
    with np.errstate(all="ignore"):
        value = np.exp((r + x) * np.log1p(-z) + np.log(hyp2f1(r + x, b + x, c, z)))
        for fallback in (
            lambda: hyp2f1(r + x, a - 1, c, -horizon / (alpha + age)),
            lambda: np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z),
        ):
            broken = ~np.isfinite(value)
            if not broken.any():
                break
            value = np.where(broken, fallback(), value)
    return value


def expected_purchases(
    params: dict[str, float], summary: CustomerSummary, horizon: float
) -> FloatArray:
    """E[purchases in (T, T+horizon] | x, t_x, T] (their eq. 10), horizon in the fit's unit."""
    r, alpha, a, b = (params[name] for name in PARAMETERS)
    x, age = summary.frequency, summary.age
    discounted = _discounted_hypergeometric(r, alpha, a, b, x, age, horizon)
    # (a+b+x−1)/(a−1)·[1 − …] divided by the alive-odds term 1 + [x>0]·a/(b+x−1)·(…)
    numerator = (a + b + x - 1) / (a - 1) * (1 - discounted)
    return numerator * probability_alive(params, summary)
