"""Campaign ROI equals a plain-Python computation on generated data: itemised costs,
attributed GMV, the holdout comparison and its Welch interval; the DuckDB holdout
bucket equals ``in_holdout``; the interval covers a known effect; store scope."""

from __future__ import annotations

import math
import random
import statistics
from datetime import date

import duckdb
from scipy import stats
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics.attribution import AttributionModel
from siyu.analytics.period import Period
from siyu.analytics.roi import campaign_detail, campaign_roi
from siyu.analytics.roi_holdout import bucket_sql, welch_interval
from siyu.campaigns.registry.service import in_holdout
from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.campaign import Campaign
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from tests.analytics import campaigns_reference as ref
from tests.analytics.conftest import TIMEZONE, OpenAnalytics
from tests.analytics.helpers import commit_and_export

PERIOD = Period(date(2026, 10, 23), date(2026, 11, 21))
TODAY = date(2026, 11, 22)


def welch_reference(treatment: list[int], holdout: list[int]) -> tuple[float, float, float]:
    mean_t, mean_h = statistics.fmean(treatment), statistics.fmean(holdout)
    var_t, var_h = statistics.variance(treatment), statistics.variance(holdout)
    a, b = var_t / len(treatment), var_h / len(holdout)
    freedom = (a + b) ** 2 / (a**2 / (len(treatment) - 1) + b**2 / (len(holdout) - 1))
    half = stats.t.ppf(0.975, freedom) * math.sqrt(a + b)
    return mean_t - mean_h - half, mean_t - mean_h + half, freedom


def check_holdout(data: ref.RoiDataset, result: object, *, store_id: int | None) -> None:
    groups = ref.holdout_groups(data, result.campaign_id, store_id=store_id)  # type: ignore[attr-defined]
    holdout = result.holdout  # type: ignore[attr-defined]
    assert holdout.treatment_customers == len(groups[False])
    assert holdout.holdout_customers == len(groups[True])
    mean_t, mean_h = statistics.fmean(groups[False]), statistics.fmean(groups[True])
    assert math.isclose(holdout.treatment_gmv_per_customer, mean_t, rel_tol=1e-9)
    assert math.isclose(holdout.holdout_gmv_per_customer, mean_h, rel_tol=1e-9)
    assert math.isclose(holdout.incremental_gmv_per_customer, mean_t - mean_h, abs_tol=1e-6)
    assert math.isclose(
        holdout.incremental_gmv, (mean_t - mean_h) * len(groups[False]), abs_tol=1e-4
    )
    low, high, freedom = welch_reference(groups[False], groups[True])
    assert math.isclose(holdout.confidence_low, low, rel_tol=1e-6, abs_tol=1e-6)
    assert math.isclose(holdout.confidence_high, high, rel_tol=1e-6, abs_tol=1e-6)
    assert math.isclose(holdout.degrees_of_freedom, freedom, rel_tol=1e-6)


def test_campaign_roi_equals_a_plain_python_computation(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
    open_test_analytics: OpenAnalytics,
) -> None:
    data = commit_and_export(
        committed_engine,
        session_factory,
        warehouse,
        lambda session, now: ref.build_roi(session, random.Random(11), now=now),
    )
    begin, finish = PERIOD.utc_bounds(TIMEZONE)
    for store_id in (None, 1):
        scope = (
            DataScope(ScopeKind.ALL)
            if store_id is None
            else DataScope(ScopeKind.STORE, store_id=store_id)
        )
        costs = ref.roi_costs_reference(data, begin, finish, store_id=store_id)
        credited = ref.attribution_reference(
            data, begin, finish, "last_touch", "campaign", store_id=store_id
        )
        with (
            transaction(session_factory) as session,
            open_test_analytics(session, today=TODAY, scope=scope) as analytics,
        ):
            results = campaign_roi(analytics, session, PERIOD)
            first_touch = campaign_roi(
                analytics, session, PERIOD, model=AttributionModel.FIRST_TOUCH
            )
            lottery = next(c for c in data.campaigns.values() if c["holdout_percent"])
            detail = campaign_detail(analytics, session, PERIOD, lottery["id"])
        published = [
            campaign_id
            for campaign_id, campaign in data.campaigns.items()
            if campaign["status"] == "published"
            and campaign["starts_at"] < finish
            and campaign["ends_at"] > begin
        ]
        assert [result.campaign_id for result in results] == sorted(
            published, key=lambda campaign_id: data.campaigns[campaign_id]["starts_at"]
        )
        assert len(published) == 2
        counts = ref.participants_reference(data, begin, finish, store_id=store_id)
        for result in results:
            assert (result.orders, result.participants) == counts[result.campaign_id]
            want = costs[result.campaign_id]
            got = result.costs
            assert {
                "campaign_discount": got.campaign_discount,
                "coupons": got.coupons,
                "points": got.points,
                "commissions": got.commissions,
                "prizes": got.prizes,
                "fixed": got.fixed,
            } == want
            assert got.total == sum(want.values())
            expected_gmv = credited.get(str(result.campaign_id), {"gmv": 0.0})["gmv"]
            assert abs(result.attributed_gmv - expected_gmv) < 1.0
            assert result.gross_margin == result.attributed_gmv - got.total
            assert result.roi == (result.attributed_gmv - got.total) / got.total
            if data.campaigns[result.campaign_id]["holdout_percent"]:
                check_holdout(data, result, store_id=store_id)
            else:
                assert result.holdout is None
        first = ref.attribution_reference(
            data, begin, finish, "first_touch", "campaign", store_id=store_id
        )
        for result in first_touch:
            expected_gmv = first.get(str(result.campaign_id), {"gmv": 0.0})["gmv"]
            assert abs(result.attributed_gmv - expected_gmv) < 1.0
        assert all(result.costs.total > result.costs.fixed for result in results)
        assert all(result.participants > 0 for result in results)
        assert detail.campaign.campaign_id == lottery["id"]
        groups = ref.holdout_groups(data, lottery["id"], store_id=store_id)
        treatment_total = sum(day["treatment"] for day in detail.days) * len(groups[False])
        assert math.isclose(treatment_total, sum(groups[False]), rel_tol=1e-9, abs_tol=1e-6)
        assert len(detail.days) == 15


def test_duckdb_bucket_equals_in_holdout_on_many_ids() -> None:
    con = duckdb.connect()
    for public_id, percent in (("cp_abc", 10), ("cp_O'Brien", 37), ("活动-1", 50)):
        campaign = Campaign(public_id=public_id, holdout_percent=percent)
        rows = con.execute(
            f"SELECT i, {bucket_sql('i')} < ? FROM range(1, 20001) t(i) ORDER BY i",
            [public_id, percent],
        ).fetchall()
        assert [flag for _id, flag in rows] == [in_holdout(campaign, i) for i, _flag in rows]
    con.close()


def test_welch_interval_covers_a_known_effect() -> None:
    """On synthetic experiments with a true lift of 300 fen, the 95 % interval covers
    it in about 95 % of runs."""
    rng = random.Random(3)
    covered = 0
    runs = 400
    for _ in range(runs):
        treatment = [max(0.0, rng.gauss(1300, 900)) + (rng.random() < 0.3) * 500 for _ in range(80)]
        holdout = [max(0.0, rng.gauss(1000, 600)) + (rng.random() < 0.3) * 500 for _ in range(30)]
        true_effect = 300 + (
            _truncated_mean(1300, 900) - 1300 - (_truncated_mean(1000, 600) - 1000)
        )
        interval = welch_interval(
            (len(treatment), statistics.fmean(treatment), statistics.variance(treatment)),
            (len(holdout), statistics.fmean(holdout), statistics.variance(holdout)),
        )
        assert interval is not None
        covered += interval[0] <= true_effect <= interval[1]
    assert 0.92 <= covered / runs <= 0.98


def _truncated_mean(mu: float, sigma: float) -> float:
    """E[max(0, X)] for X ~ N(mu, sigma)."""
    z = mu / sigma
    return mu * stats.norm.cdf(z) + sigma * stats.norm.pdf(z)


def test_welch_needs_two_per_group() -> None:
    assert welch_interval((1, 5.0, 0.0), (10, 3.0, 1.0)) is None
    assert welch_interval((5, 5.0, 0.0), (5, 3.0, 0.0)) == (2.0, 2.0, 8.0)
