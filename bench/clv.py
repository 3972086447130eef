"""CLV fits at scale: 1,000,000 synthetic customers drawn from a BG/NBD process with
known parameters, then fitted (BG/NBD, Pareto/NBD, Gamma-Gamma) and scored; plus the
CDNOW sample fit for comparison with the published estimates.

The customers first bought 30..730 days before the end of calibration; times are
whole days, as the warehouse summary gives them (so identical (x, t_x, T) rows
compress — what keeps a million customers fast). Simulation, vectorised: λ ~
Gamma(r, α), p ~ Beta(a, b); the customer drops out after repeat purchase K ~
Geometric(p); N(T) ~ Poisson(λT) purchases would happen in (0, T]; x = min(N, K) and
the last purchase is the x-th of N uniform times (a Beta order statistic).

    .venv/bin/python bench/clv.py                      # 1,000,000 customers
    .venv/bin/python bench/clv.py --customers 100000   # quicker
    .venv/bin/python bench/clv.py --skip-pareto        # BG/NBD and Gamma-Gamma only
    .venv/bin/python bench/clv.py --skip-write         # no SQLite write of the scores

Last, the scores are written as ``fit_and_score`` writes them (delete + bulk insert of
``customer_value`` in one transaction) into a fresh migrated SQLite database holding
the million customers.

Goal: the 1 M-customer BG/NBD fit ≤ 30 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siyu.analytics.clv import bgnbd, gamma_gamma, pareto_nbd  # noqa: E402
from siyu.analytics.clv.models import CountModel  # noqa: E402
from siyu.analytics.clv.scoring import Scores, score, write_scores  # noqa: E402
from siyu.analytics.clv.summary import (  # noqa: E402
    CustomerSummary,
    TimeUnit,
    compress,
    read_cdnow,
)
from siyu.core.bulk_insert import insert_many  # noqa: E402
from siyu.core.db import make_engine, make_session_factory, transaction  # noqa: E402
from siyu.core.migrations import upgrade  # noqa: E402
from siyu.models.analytics import ClvFit  # noqa: E402
from siyu.models.customer import Customer  # noqa: E402

# The CDNOW estimates converted to days (α × 7), and a spend process like CDNOW's.
TRUTH = {"r": 0.243, "alpha": 30.9, "a": 0.793, "b": 2.426}
SPEND_TRUTH = {"p": 6.25, "q": 3.74, "gamma": 15.44}
SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "CDNOW_sample.txt"


def simulate(customers: int, seed: int) -> CustomerSummary:
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (TRUTH[name] for name in ("r", "alpha", "a", "b"))
    age = rng.integers(30, 731, customers).astype(np.float64)
    rate = rng.gamma(r, 1 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    last_repeat = rng.geometric(np.clip(dropout, 1e-12, 1.0))  # drops after purchase K
    would_buy = rng.poisson(rate * age)
    frequency = np.minimum(would_buy, last_repeat)
    # The x-th smallest of N uniform times on (0, T]: T · Beta(x, N − x + 1).
    bought = frequency > 0
    recency = np.zeros(customers)
    recency[bought] = age[bought] * rng.beta(
        frequency[bought], would_buy[bought] - frequency[bought] + 1
    )
    recency = np.floor(recency)  # whole days, as the warehouse gives them
    # Spend: ν ~ Gamma(q, γ) per customer; mean of x transactions ~ Gamma(p·x, ν·x).
    p, q, gamma = (SPEND_TRUTH[name] for name in ("p", "q", "gamma"))
    nu = rng.gamma(q, 1 / gamma, customers)
    monetary = np.zeros(customers)
    monetary[bought] = rng.gamma(p * frequency[bought], 1 / (nu[bought] * frequency[bought]))
    return CustomerSummary(
        customer_ids=np.arange(1, customers + 1, dtype=np.int64),
        frequency=frequency.astype(np.float64),
        recency=recency,
        age=age,
        monetary=monetary,
        time_unit=TimeUnit.DAY,
    )


def write_seconds(scores: Scores) -> float:
    """Seconds to replace ``customer_value`` for every scored customer (SQLite)."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/clv.db"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            insert_many(
                session,
                Customer.__table__,  # type: ignore[arg-type]
                ("id", "status", "consent", "created_at", "updated_at"),
                ((int(i), "active", {}, now, now) for i in scores.customer_ids),
            )
        started = time.perf_counter()
        with transaction(factory) as session:
            fit = ClvFit(
                model="bgnbd",
                params={},
                log_likelihood=0.0,
                customers=len(scores),
                time_unit="day",
                calibration_end=None,
                fitted_at=now,
            )
            session.add(fit)
            session.flush()
            write_scores(session, scores, fit_id=fit.id, spend_fit_id=None, computed_at=now)
        seconds = time.perf_counter() - started
        engine.dispose()
    return seconds


def _recovered(fitted: dict[str, float], truth: dict[str, float]) -> str:
    return ", ".join(
        f"{name} {fitted[name]:.4g} (true {value:g}, {100 * (fitted[name] / value - 1):+.1f}%)"
        for name, value in truth.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--skip-pareto", action="store_true")
    parser.add_argument("--skip-write", action="store_true")
    options = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"# CLV benchmark — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}"
    )

    started = time.perf_counter()
    transactions = read_cdnow(SAMPLE)
    cdnow = transactions.summary(calibration_end=date(1997, 9, 30), time_unit=TimeUnit.WEEK)
    read_seconds = time.perf_counter() - started
    for module in (bgnbd, pareto_nbd, gamma_gamma):
        fit = module.fit(cdnow)
        params = ", ".join(f"{k} {v:.4f}" for k, v in fit.params.items())
        print(
            f"CDNOW sample ({len(cdnow)} customers, read {read_seconds:.2f} s): {fit.model} "
            f"{fit.seconds:.2f} s — {params}; LL {fit.log_likelihood:.2f}"
        )

    started = time.perf_counter()
    summary = simulate(options.customers, options.seed)
    simulated = time.perf_counter() - started
    rows = compress(summary)
    print(
        f"\nsimulated {len(summary):,} customers in {simulated:.1f} s: "
        f"{int(summary.repeat_buyers.sum()):,} repeat buyers, "
        f"{len(rows.counts):,} distinct (x, t_x, T) rows"
    )
    cpu = time.process_time()
    fit = bgnbd.fit(summary)
    cpu = time.process_time() - cpu
    print(
        f"BG/NBD fit: {fit.seconds:.1f} s wall, {cpu:.1f} s CPU ({fit.iterations} iterations), LL "
        f"{fit.log_likelihood:,.1f}\n  {_recovered(fit.params, TRUTH)}"
    )
    cpu = time.process_time()
    spend = gamma_gamma.fit(summary)
    cpu = time.process_time() - cpu
    print(
        f"Gamma-Gamma fit ({spend.customers:,} repeat buyers): {spend.seconds:.1f} s wall, "
        f"{cpu:.1f} s CPU\n  "
        f"{_recovered(spend.params, SPEND_TRUTH)}"
    )
    if not options.skip_pareto:
        cpu = time.process_time()
        pareto = pareto_nbd.fit(summary)
        cpu = time.process_time() - cpu
        params = ", ".join(f"{k} {v:.4g}" for k, v in pareto.params.items())
        print(
            f"Pareto/NBD fit: {pareto.seconds:.1f} s wall, {cpu:.1f} s CPU "
            f"({pareto.iterations} iterations), "
            f"LL {pareto.log_likelihood:,.1f} (BG/NBD {fit.log_likelihood:,.1f}); {params}"
        )
    started = time.perf_counter()
    scores = score(
        summary, model=CountModel.BGNBD, count_params=fit.params, spend_params=spend.params
    )
    print(
        f"scoring {len(scores):,} customers (P(alive), 90/365-day purchases and value): "
        f"{time.perf_counter() - started:.1f} s"
    )
    if not options.skip_write:
        print(
            f"writing {len(scores):,} customer_value rows (SQLite, delete + bulk insert, "
            f"one transaction): {write_seconds(scores):.1f} s"
        )
    goal = "met" if fit.seconds <= 30 else "MISSED"
    print(f"\ngoal: BG/NBD fit of {len(summary):,} customers ≤ 30 s — {goal}")


if __name__ == "__main__":
    main()
