"""CLV models on the CDNOW sample: the summary equals the published per-customer
summary, BG/NBD / Pareto/NBD / Gamma-Gamma reproduce the published estimates, the
vectorised likelihoods equal term-by-term plain-Python ones, and the predictions
are checked on the 39+39-week holdout and on simulated customers."""

from __future__ import annotations

import csv
import math
import random
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.analytics.clv import bgnbd, gamma_gamma, pareto_nbd
from siyu.analytics.clv.fitting import FitResult
from siyu.analytics.clv.models import ModelName
from siyu.analytics.clv.service import fit_file
from siyu.analytics.clv.summary import CustomerSummary, TimeUnit, compress, read_cdnow
from tests.analytics import clv_reference as reference

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)


@pytest.fixture(scope="module")
def summary() -> CustomerSummary:
    return read_cdnow(SAMPLE).summary(calibration_end=CALIBRATION_END, time_unit=TimeUnit.WEEK)


@pytest.fixture(scope="module")
def bgnbd_fit(summary: CustomerSummary) -> FitResult:
    return bgnbd.fit(summary)


@pytest.fixture(scope="module")
def pareto_fit(summary: CustomerSummary) -> FitResult:
    return pareto_nbd.fit(summary)


def _within(value: float, published: float, tolerance: float) -> bool:
    return abs(value - published) <= tolerance * abs(published)


def test_summary_equals_the_published_per_customer_summary(summary: CustomerSummary) -> None:
    with (DATA / "cdnow_customers_summary.csv").open() as handle:
        published = {int(row["ID"]): row for row in csv.DictReader(handle)}
    assert sorted(published) == summary.customer_ids.tolist()
    for index, customer_id in enumerate(summary.customer_ids.tolist()):
        row = published[customer_id]
        assert summary.frequency[index] == int(row["frequency"]), customer_id
        assert round(summary.recency[index], 2) == float(row["recency"]), customer_id
        assert round(summary.age[index], 2) == float(row["T"]), customer_id


def test_summary_merges_same_day_purchases_and_averages_repeat_value() -> None:
    # Plain reading of three customers of the file, by hand: 00004 (sample id 1) bought
    # on 1997-01-01, 01-18, 08-02, 12-12 → in calibration x=2, t_x=(08-02 − 01-01)=213 d.
    transactions = read_cdnow(SAMPLE)
    summary = transactions.summary(calibration_end=CALIBRATION_END, time_unit=TimeUnit.DAY)
    first = summary.customer_ids.tolist().index(1)
    assert (summary.frequency[first], summary.recency[first], summary.age[first]) == (2, 213, 272)
    assert summary.monetary[first] == pytest.approx((29.73 + 14.96) / 2)
    lines = [line.split() for line in SAMPLE.read_text().splitlines() if line.strip()]
    by_day: dict[tuple[int, str], float] = {}
    for fields in lines:
        if fields[2] <= "19970930":
            key = (int(fields[1]), fields[2])
            by_day[key] = by_day.get(key, 0.0) + float(fields[4])
    for customer_id in summary.customer_ids.tolist()[:300]:
        days = sorted((day, value) for (cid, day), value in by_day.items() if cid == customer_id)
        index = summary.customer_ids.tolist().index(customer_id)
        assert summary.frequency[index] == len(days) - 1
        repeat = [value for _day, value in days[1:]]
        expected = sum(repeat) / len(repeat) if repeat else 0.0
        assert summary.monetary[index] == pytest.approx(expected, abs=1e-9)


def test_bgnbd_reproduces_the_published_estimates(bgnbd_fit: FitResult) -> None:
    for name, published in reference.BGNBD_PUBLISHED.items():
        assert _within(bgnbd_fit.params[name], published, 0.005), (name, bgnbd_fit.params)
    assert _within(bgnbd_fit.log_likelihood, reference.BGNBD_PUBLISHED_LL, 0.005)
    assert round(bgnbd_fit.log_likelihood, 1) == reference.BGNBD_PUBLISHED_LL
    assert (bgnbd_fit.customers, bgnbd_fit.distinct_rows) == (2357, 1016)


def test_pareto_nbd_reproduces_the_published_estimates(pareto_fit: FitResult) -> None:
    for name, published in reference.PARETO_PUBLISHED.items():
        assert _within(pareto_fit.params[name], published, 0.01), (name, pareto_fit.params)
    assert round(pareto_fit.log_likelihood, 1) == reference.PARETO_PUBLISHED_LL


def test_gamma_gamma_reproduces_the_published_estimates(summary: CustomerSummary) -> None:
    fit = gamma_gamma.fit(summary)
    for name, published in reference.GAMMA_GAMMA_PUBLISHED.items():
        assert _within(fit.params[name], published, 0.01), (name, fit.params)
    assert fit.customers == 946


def test_likelihoods_equal_plain_python_term_by_term(
    summary: CustomerSummary, bgnbd_fit: FitResult, pareto_fit: FitResult
) -> None:
    rows = compress(summary)
    picks = np.random.default_rng(7).choice(len(rows.counts), 60, replace=False)
    x, t_x, age = rows.frequency[picks], rows.recency[picks], rows.age[picks]
    for params, vectorised, plain in (
        (bgnbd_fit.params, bgnbd.row_log_likelihood, reference.bgnbd_log_likelihood),
        (pareto_fit.params, pareto_nbd.row_log_likelihood, reference.pareto_log_likelihood),
        # α < β and α > β take different branches of the Pareto/NBD likelihood.
        (
            {"r": 0.5, "alpha": 12.0, "s": 0.7, "beta": 3.0},
            pareto_nbd.row_log_likelihood,
            reference.pareto_log_likelihood,
        ),
    ):
        values = vectorised(np.array(list(params.values())), x, t_x, age)
        for index in range(len(picks)):
            expected = plain(*params.values(), x[index], t_x[index], age[index])
            assert values[index] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    repeat = summary.repeat_buyers
    spend = gamma_gamma.row_log_likelihood(
        np.array([6.25, 3.74, 15.44]), summary.frequency[repeat], summary.monetary[repeat]
    )
    for index in range(0, int(repeat.sum()), 37):
        expected = reference.gamma_gamma_log_likelihood(
            6.25, 3.74, 15.44, summary.frequency[repeat][index], summary.monetary[repeat][index]
        )
        assert spend[index] == pytest.approx(expected, rel=1e-12)


def test_factorised_likelihoods_equal_the_row_by_row_ones(
    summary: CustomerSummary, bgnbd_fit: FitResult, pareto_fit: FitResult
) -> None:
    rows = compress(summary)
    for module, params in ((bgnbd, bgnbd_fit.params), (pareto_nbd, pareto_fit.params)):
        values = np.array(list(params.values()))
        fast = module.fast_row_log_likelihood(rows)(values)
        plain = module.row_log_likelihood(values, rows.frequency, rows.recency, rows.age)
        np.testing.assert_allclose(fast, plain, rtol=1e-12)


def test_compressed_likelihood_equals_the_sum_over_customers(
    summary: CustomerSummary, bgnbd_fit: FitResult
) -> None:
    total = sum(
        reference.bgnbd_log_likelihood(
            *bgnbd_fit.params.values(), summary.frequency[i], summary.recency[i], summary.age[i]
        )
        for i in range(len(summary))
    )
    assert bgnbd_fit.log_likelihood == pytest.approx(total, rel=1e-10)


def test_day_unit_rescales_only_the_time_parameters() -> None:
    weeks = fit_file(
        SAMPLE, model=ModelName.BGNBD, calibration_end=CALIBRATION_END, time_unit=TimeUnit.WEEK
    ).fit
    days = fit_file(
        SAMPLE, model=ModelName.BGNBD, calibration_end=CALIBRATION_END, time_unit=TimeUnit.DAY
    ).fit
    for name in ("r", "a", "b"):
        assert days.params[name] == pytest.approx(weeks.params[name], rel=1e-3)
    assert days.params["alpha"] == pytest.approx(weeks.params["alpha"] * 7, rel=1e-3)
    # The likelihood is a density in time: each repeat purchase adds ln 7 going to days.
    repeats = (
        read_cdnow(SAMPLE)
        .summary(calibration_end=CALIBRATION_END, time_unit=TimeUnit.DAY)
        .frequency.sum()
    )
    assert days.log_likelihood == pytest.approx(
        weeks.log_likelihood - repeats * math.log(7), abs=0.05
    )


def test_holdout_quality_on_the_39_plus_39_week_split() -> None:
    results = {
        model: fit_file(
            SAMPLE, model=model, calibration_end=CALIBRATION_END, time_unit=TimeUnit.WEEK
        )
        for model in (ModelName.BGNBD, ModelName.PARETO_NBD)
    }
    # Actual holdout repeat purchases counted by hand from the file (distinct days).
    days = {
        (line.split()[1], line.split()[2])
        for line in SAMPLE.read_text().splitlines()
        if line.strip() and "19970930" < line.split()[2] <= "19980630"
    }
    for model, result in results.items():
        quality = result.quality
        assert quality["holdout_length"] == 39.0
        assert quality["total_actual"] == len(days) == 1882
        assert sum(bucket["customers"] for bucket in quality["buckets"]) == 2357
        assert [bucket["customers"] for bucket in quality["buckets"]] == [
            1411,
            439,
            214,
            100,
            62,
            38,
            29,
            64,
        ]
        # Reported figures (docs/clv.md): both models under-predict this holdout by
        # about 12% in total; per frequency bucket they are within 0.4 purchases.
        assert -15 < quality["total_error_percent"] < -10, (model, quality)
        assert quality["bucket_mean_absolute_error"] < 0.25, model
        increasing = [bucket["predicted_mean"] for bucket in quality["buckets"]]
        assert increasing[1:] == sorted(increasing[1:]), model


def _weekly_summary(people: list[reference.SimulatedCustomer]) -> CustomerSummary:
    """Simulated customers as the models read them (weeks, no spend)."""
    return CustomerSummary(
        customer_ids=np.arange(len(people), dtype=np.int64),
        frequency=np.array([p.frequency for p in people], dtype=float),
        recency=np.array([p.recency for p in people]),
        age=np.array([p.age for p in people]),
        monetary=np.zeros(len(people)),
        time_unit=TimeUnit.WEEK,
    )


def test_predictions_match_a_simulated_bgnbd_holdout() -> None:
    rng = random.Random(20261123)
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    people = reference.simulate_bgnbd(rng, **truth, customers=6000, age=52.0, holdout=52.0)
    summary = _weekly_summary(people)
    fit = bgnbd.fit(summary)
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=0.2), (name, fit.params)
    predicted = bgnbd.expected_purchases(fit.params, summary, 52.0)
    actual = sum(p.holdout_purchases for p in people)
    assert float(predicted.sum()) == pytest.approx(actual, rel=0.05)
    alive = bgnbd.probability_alive(fit.params, summary)
    assert float(alive.sum()) == pytest.approx(sum(p.alive_at_end for p in people), rel=0.03)


def test_pareto_nbd_predictions_match_a_simulated_holdout() -> None:
    rng = random.Random(8)
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}
    people = reference.simulate_pareto_nbd(rng, **truth, customers=6000, age=52.0, holdout=52.0)
    summary = _weekly_summary(people)
    fit = pareto_nbd.fit(summary)
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=0.25), (name, fit.params)
    predicted = pareto_nbd.expected_purchases(fit.params, summary, 52.0)
    actual = sum(p.holdout_purchases for p in people)
    assert float(predicted.sum()) == pytest.approx(actual, rel=0.05)
    # P(alive) is calibrated: its sum is the number truly alive at the end, within 3%.
    alive = pareto_nbd.probability_alive(fit.params, summary)
    assert float(alive.sum()) == pytest.approx(sum(p.alive_at_end for p in people), rel=0.03)


@settings(max_examples=60, deadline=None)
@given(
    x=st.integers(min_value=0, max_value=400),
    recency_share=st.floats(min_value=0, max_value=1),
    age=st.floats(min_value=0.5, max_value=800),
    horizon=st.floats(min_value=0.1, max_value=400),
)
def test_predictions_stay_finite_and_ordered(
    x: int, recency_share: float, age: float, horizon: float
) -> None:
    t_x = age * recency_share if x else 0.0
    one = CustomerSummary(
        customer_ids=np.array([1]),
        frequency=np.array([float(x)]),
        recency=np.array([t_x]),
        age=np.array([age]),
        monetary=np.array([100.0 if x else 0.0]),
        time_unit=TimeUnit.DAY,
    )
    for module, params in (
        (bgnbd, reference.BGNBD_PUBLISHED),
        (pareto_nbd, reference.PARETO_PUBLISHED),
    ):
        alive = module.probability_alive(params, one)[0]
        near = module.expected_purchases(params, one, horizon)[0]
        far = module.expected_purchases(params, one, horizon * 2)[0]
        assert 0.0 <= alive <= 1.0
        assert np.isfinite(near), (module.MODEL, near)
        assert 0.0 <= near <= far + 1e-9, (module.MODEL, near, far)
        assert np.isfinite(
            module.row_log_likelihood(
                np.array(list(params.values())), one.frequency, one.recency, one.age
            )[0]
        )
