"""Pareto/NBD purchase-count model (Schmittlein, Morrison & Colombo 1987), with the
likelihood in the form of Fader & Hardie's note "A note on deriving the Pareto/NBD
model and related expressions" (2005).

While alive a customer buys as Poisson(λ), λ ~ Gamma(r, α); lifetimes are
exponential(μ), μ ~ Gamma(s, β). With A0 as in the note (eqs. 19-20),

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0 ]

A0 is a difference of two Gauss hypergeometric terms 2F1(r+s+x, s+1 | r+x; r+s+x+1; z)
/ (max(α,β)+t)^(r+s+x). Numerical care: each 2F1 is rewritten with Euler's
transformation 2F1(a,b;c;z) = (1−z)^(c−a−b) 2F1(c−a, c−b; c; z) so its first
parameter is 1 (a series with bounded terms, no overflow for large x), every term is
kept in logs, and the difference uses log1p(−exp(·)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from siyu.analytics.clv.fitting import (
    FitResult,
    FloatArray,
    RowLogLikelihood,
    fit_result,
    timed,
)
from siyu.analytics.clv.summary import CompressedRows, CustomerSummary, IntArray, compress

MODEL = "pareto_nbd"
PARAMETERS = ("r", "alpha", "s", "beta")


def _log_hypergeometric_term(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t: FloatArray
) -> FloatArray:
    """ln[ 2F1(r+s+x, b'; r+s+x+1; z) / (max(α,β)+t)^(r+s+x) ] with b' = s+1 (α ≥ β,
    z = (α−β)/(α+t)) or b' = r+x (α < β, z = (β−α)/(β+t))."""
    c = r + s + x + 1
    second: float | FloatArray
    if alpha >= beta:
        base = alpha + t
        z = (alpha - beta) / base
        second = s + 1
    else:
        base = beta + t
        z = (beta - alpha) / base
        second = r + x
    # Euler: 2F1(c−1, b'; c; z) = (1−z)^(1−b') · 2F1(1, c−b'; c; z).
    log_f = (1 - second) * np.log1p(-z) + np.log(hyp2f1(1.0, c - second, c, z))
    return log_f - (r + s + x) * np.log(base)


def _log_a0(params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
    r, alpha, s, beta = params
    at_last = _log_hypergeometric_term(r, alpha, s, beta, x, t_x)
    at_end = _log_hypergeometric_term(r, alpha, s, beta, x, age)
    # A0 = e^at_last − e^at_end ≥ 0 (t_x ≤ T); equal when t_x = T (bought on the last day).
    with np.errstate(divide="ignore"):
        return at_last + np.log1p(-np.exp(np.minimum(at_end - at_last, 0.0)))


def row_log_likelihood(
    params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    r, alpha, s, beta = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    died = np.log(s) - np.log(r + s + x) + _log_a0(params, x, t_x, age)
    return common + np.logaddexp(alive, died)


def _distinct_pairs(
    first: FloatArray, second: FloatArray
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Distinct (first, second) pairs and each row's pair index."""
    order = np.lexsort((second, first))
    ordered_first, ordered_second = first[order], second[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (ordered_first[1:] != ordered_first[:-1]) | (
        ordered_second[1:] != ordered_second[:-1]
    )
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered_first[starts], ordered_second[starts], inverse


def fast_row_log_likelihood(rows: CompressedRows) -> RowLogLikelihood:
    """``row_log_likelihood`` for these rows with each hypergeometric term computed once
    per distinct (x, t_x) and (x, T) pair (they are what costs: scipy's 2F1 per row)."""
    x, t_x, age = rows.frequency, rows.recency, rows.age
    last_x, last_t, last_index = _distinct_pairs(x, t_x)
    end_x, end_t, end_index = _distinct_pairs(x, age)

    def evaluate(params: FloatArray) -> FloatArray:
        r, alpha, s, beta = params
        at_last = _log_hypergeometric_term(r, alpha, s, beta, last_x, last_t)[last_index]
        at_end = _log_hypergeometric_term(r, alpha, s, beta, end_x, end_t)[end_index]
        with np.errstate(divide="ignore"):
            log_a0 = at_last + np.log1p(-np.exp(np.minimum(at_end - at_last, 0.0)))
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
        died = np.log(s) - np.log(r + s + x) + log_a0
        return common + np.logaddexp(alive, died)

    return evaluate


def fit(summary: CustomerSummary) -> FitResult:
    elapsed = timed()
    rows = compress(summary)
    mean_rate = max(
        float(np.average(rows.frequency / np.maximum(rows.age, 1e-9), weights=rows.counts)), 1e-3
    )
    mean_age = max(float(np.average(rows.age, weights=rows.counts)), 1.0)
    start = (0.5, 0.5 / mean_rate, 0.5, mean_age / 2)
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
    """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A0)."""
    values = np.array([params[name] for name in PARAMETERS])
    r, alpha, s, beta = values
    x, t_x, age = summary.frequency, summary.recency, summary.age
    log_odds = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + age)
        + s * np.log(beta + age)
        + _log_a0(values, x, t_x, age)
    )
    return expit(-log_odds)


def expected_purchases(
    params: dict[str, float], summary: CustomerSummary, horizon: float
) -> FloatArray:
    """E[purchases in (T, T+horizon]] = (r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)]
    · P(alive) (Schmittlein et al. 1987); the s → 1 limit is (r+x)(β+T)/(α+T)·ln((β+T+t)/(β+T))."""
    r, alpha, s, beta = (params[name] for name in PARAMETERS)
    x, age = summary.frequency, summary.age
    log_ratio = np.log(beta + age + horizon) - np.log(beta + age)
    shape = log_ratio if abs(s - 1) < 1e-9 else -np.expm1(-(s - 1) * log_ratio) / (s - 1)
    return (r + x) * (beta + age) / (alpha + age) * shape * probability_alive(params, summary)
