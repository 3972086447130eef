"""Maximum likelihood on log-parameters, shared by the three models.

Parameters of all three models are positive, so the optimiser works on their
logarithms (unconstrained) and the objective is the mean negative log-likelihood
per customer (weighted by the counts of identical rows), which keeps its scale
independent of the number of customers. L-BFGS-B with numerical gradients finds
the optimum (on CDNOW it agrees with a Nelder-Mead polish to 1e-9 in
log-likelihood); Nelder-Mead takes over only when L-BFGS-B reports no convergence,
which happens where the surface is flat (Pareto/NBD's s and β move together).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from siyu.analytics.errors import NotEnoughData

FloatArray = npt.NDArray[np.float64]
# log-likelihood per distinct row, from the parameters (natural scale).
RowLogLikelihood = Callable[[FloatArray], FloatArray]


class ClvFitFailed(NotEnoughData):
    code = "analytics.clv_fit_failed"


@dataclass(frozen=True)
class FitResult:
    model: str
    params: dict[str, float]
    log_likelihood: float
    customers: int
    distinct_rows: int
    seconds: float
    iterations: int
    extra: dict[str, Any] = field(default_factory=dict)


def maximise(
    row_log_likelihood: RowLogLikelihood,
    counts: FloatArray,
    start: Sequence[float],
    *,
    bounds: tuple[float, float] = (-12.0, 12.0),
) -> tuple[FloatArray, float, int]:
    """Parameters (natural scale), total log-likelihood and iterations of the optimum."""
    total = float(counts.sum())
    if total <= 0:
        raise ClvFitFailed("no customers to fit")

    low, high = bounds

    def objective(log_params: FloatArray) -> float:
        # Nelder-Mead has no bounds: keep it where the predictions stay computable.
        if np.any(log_params < low) or np.any(log_params > high):
            return 1e10
        values = row_log_likelihood(np.exp(log_params))
        mean = float(np.dot(counts, values)) / total
        # Outside the region where the likelihood is finite: steer the optimiser back.
        return -mean if np.isfinite(mean) else 1e10

    x0 = np.log(np.asarray(start, dtype=np.float64))
    first = minimize(
        objective,
        x0,
        method="L-BFGS-B",
        bounds=[bounds] * len(x0),
        options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-9},
    )
    best, iterations = first, int(first.nit)
    if not first.success or not np.isfinite(first.fun):
        # Where L-BFGS-B stalls (flat or rough surface), a derivative-free search from
        # its last point usually finishes the job.
        polished = minimize(
            objective,
            first.x,
            method="Nelder-Mead",
            options={"maxiter": 2000, "xatol": 1e-7, "fatol": 1e-11},
        )
        iterations += int(polished.nit)
        if polished.fun <= first.fun:
            best = polished
    if not np.isfinite(best.fun) or best.fun >= 1e10:
        raise ClvFitFailed("the model could not be fitted to these customers")
    return np.exp(best.x), -float(best.fun) * total, iterations


def fit_result(
    model: str,
    parameters: Sequence[str],
    row_log_likelihood: RowLogLikelihood,
    counts: FloatArray,
    start: Sequence[float],
    *,
    customers: int,
    elapsed: Callable[[], float],
    extra: dict[str, Any] | None = None,
) -> FitResult:
    """The maximum-likelihood fit of one model, its parameters named, timed by ``elapsed``."""
    params, log_likelihood, iterations = maximise(row_log_likelihood, counts, start)
    return FitResult(
        model=model,
        params=dict(zip(parameters, (float(v) for v in params), strict=True)),
        log_likelihood=log_likelihood,
        customers=customers,
        distinct_rows=len(counts),
        seconds=elapsed(),
        iterations=iterations,
        extra=extra or {},
    )


def timed() -> Callable[[], float]:
    started = time.perf_counter()
    return lambda: time.perf_counter() - started
