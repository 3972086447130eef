"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
curves for customer base analysis", JMR 42(4); Fader & Hardie's note "The
Gamma-Gamma model of monetary value", 2013).

A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across
customers. Fitted on the customers with repeat purchases only, on the mean value
m_x of their x repeat transactions:

    log f(m_x | x) = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln m_x
                     + px ln x − (px+q) ln(γ + x·m_x)

Assumption (as in the paper): spend per transaction is independent of how often a
customer buys, so the expected order value multiplies the count model's expected
purchases. Check it on your data: the correlation of frequency and monetary among
repeat buyers is returned with the fit (``extra["frequency_spend_correlation"]``)
and should be near zero.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from siyu.analytics.clv.fitting import (
    ClvFitFailed,
    FitResult,
    FloatArray,
    RowLogLikelihood,
    fit_result,
    timed,
)
from siyu.analytics.clv.summary import CustomerSummary

MODEL = "gamma_gamma"
PARAMETERS = ("p", "q", "gamma")


def row_log_likelihood(params: FloatArray, x: FloatArray, mean: FloatArray) -> FloatArray:
    p, q, gamma = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(mean)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * mean)
    )


def _fast_row_log_likelihood(x: FloatArray, mean: FloatArray) -> RowLogLikelihood:
    """``row_log_likelihood`` with the terms of x alone computed once per distinct x
    and the parameter-free logs computed once."""
    distinct_x, x_index = np.unique(x, return_inverse=True)
    log_mean, log_x, spent = np.log(mean), np.log(x), x * mean

    def evaluate(params: FloatArray) -> FloatArray:
        p, q, gamma = params
        px = p * distinct_x
        per_x = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
        row_px = px[x_index]
        return (
            per_x[x_index]
            + (row_px - 1) * log_mean
            + row_px * log_x
            - (row_px + q) * np.log(gamma + spent)
        )

    return evaluate


def fit(summary: CustomerSummary) -> FitResult:
    elapsed = timed()
    usable = summary.repeat_buyers & (summary.monetary > 0)
    if int(usable.sum()) < 2:
        raise ClvFitFailed("the spend model needs customers with repeat purchases")
    pairs = np.column_stack([summary.frequency[usable], summary.monetary[usable]])
    distinct, counts = np.unique(pairs, axis=0, return_counts=True)
    x, mean = distinct[:, 0], distinct[:, 1]
    weights = counts.astype(np.float64)
    # Start from the method of moments scale: mean spend ≈ pγ/(q−1).
    average = float(np.average(mean, weights=weights))
    correlation = (
        float(np.corrcoef(summary.frequency[usable], summary.monetary[usable])[0, 1])
        if usable.sum() > 2
        else 0.0
    )
    return fit_result(
        MODEL,
        PARAMETERS,
        _fast_row_log_likelihood(x, mean),
        weights,
        (1.0, 2.0, average),
        customers=int(usable.sum()),
        elapsed=elapsed,
        extra={"frequency_spend_correlation": correlation},
    )


def expected_order_value(params: dict[str, float], summary: CustomerSummary) -> FloatArray:
    """E[M | p, q, γ, m_x, x]: a weighted average of the population mean pγ/(q−1) and
    the customer's own mean, weighted by x. Customers with no repeat purchase get the
    population mean (their first purchase is not used, by the model's convention)."""
    p, q, gamma = (params[name] for name in PARAMETERS)
    x, mean = summary.frequency, summary.monetary
    return (gamma + x * mean) * p / (p * x + q - 1)
