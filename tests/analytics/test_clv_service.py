"""``fit_and_score`` on the brand's own orders: the warehouse summary equals a
plain-Python one, every purchasing customer gets a ``customer_value`` row computed
from it, two ``clv_fit`` rows are recorded, a holdout is judged against a plain
count, a rerun replaces the scores, and bad requests fail with stable codes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.analytics.clv import scoring, service
from siyu.analytics.clv.models import CountModel
from siyu.analytics.clv.source import warehouse_summary
from siyu.analytics.clv.summary import CustomerSummary, TimeUnit
from siyu.analytics.connection import open_analytics
from siyu.core.errors import SiyuError
from siyu.models.analytics import ClvFit, CustomerValue
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics import clv_data
from tests.analytics.clv_data import LAST_DAY, NOW

Write = Callable[[], AbstractContextManager[Session]]
TIMEZONE = "Asia/Shanghai"


def _reference_summary(data: clv_data.Purchases, until: date, unit: TimeUnit) -> CustomerSummary:
    rows = data.summary(until, unit.days)
    ids = sorted(rows)
    return CustomerSummary(
        customer_ids=np.array(ids, dtype=np.int64),
        frequency=np.array([rows[i][0] for i in ids]),
        recency=np.array([rows[i][1] for i in ids]),
        age=np.array([rows[i][2] for i in ids]),
        monetary=np.array([rows[i][3] for i in ids]),
        time_unit=unit,
    )


def _stored(session: Session) -> dict[int, CustomerValue]:
    return {row.customer_id: row for row in session.scalars(select(CustomerValue))}


def test_fit_and_score_equals_a_plain_python_summary(
    committed_engine: Engine, write: Write, warehouse: Warehouse
) -> None:
    with write() as session:
        data = clv_data.build(session, customers=140)
    export.sync(committed_engine, warehouse, now=NOW)

    with write() as session:
        with open_analytics(
            warehouse, session, scope=DataScope(ScopeKind.ALL), timezone=TIMEZONE, today=NOW.date()
        ) as analytics:
            computed = warehouse_summary(analytics, until=LAST_DAY, time_unit=TimeUnit.WEEK)
        expected = _reference_summary(data, LAST_DAY, TimeUnit.WEEK)
        assert computed.customer_ids.tolist() == expected.customer_ids.tolist()
        assert computed.frequency.tolist() == expected.frequency.tolist()
        np.testing.assert_allclose(computed.recency, expected.recency, rtol=0, atol=1e-12)
        np.testing.assert_allclose(computed.age, expected.age, rtol=0, atol=1e-12)
        np.testing.assert_allclose(computed.monetary, expected.monetary, rtol=1e-12)
        assert expected.repeat_buyers.sum() >= 30  # the data exercise the spend model

        run = service.fit_and_score(
            session, warehouse, model="bgnbd", now=NOW, actor="tester", timezone=TIMEZONE
        )
    assert (run.model, run.calibration_end, run.quality) == (CountModel.BGNBD, LAST_DAY, {})
    assert run.spend_fit is not None
    assert (
        run.customers_scored
        == len(expected)
        == 140 - sum(1 for c in data.customers if c not in {o[0] for o in data.orders})
    )

    with write() as session:
        fits = session.scalars(select(ClvFit).order_by(ClvFit.id)).all()
        assert [(f.model, f.customers, f.time_unit, f.fitted_by) for f in fits] == [
            ("bgnbd", len(expected), "week", "tester"),
            ("gamma_gamma", int(expected.repeat_buyers.sum()), "week", "tester"),
        ]
        assert fits[0].params == run.count_fit.params
        assert fits[0].log_likelihood == pytest.approx(run.count_fit.log_likelihood)
        # Scores from the plain summary through the fitted parameters.
        reference = scoring.score(
            expected,
            model=CountModel.BGNBD,
            count_params=fits[0].params,
            spend_params=fits[1].params,
        )
        stored = _stored(session)
        assert sorted(stored) == expected.customer_ids.tolist()
        for index, customer_id in enumerate(reference.customer_ids.tolist()):
            row = stored[customer_id]
            assert (row.fit_id, row.spend_fit_id) == (fits[0].id, fits[1].id)
            assert row.probability_alive == pytest.approx(reference.probability_alive[index])
            assert row.expected_purchases_365d == pytest.approx(
                reference.expected_purchases_365d[index]
            )
            assert row.expected_value_365d == reference.expected_value_365d[index]
            assert row.expected_order_value == reference.expected_order_value[index]
            # Undiscounted: value = purchases × order value (each rounded to the fen).
            assert (
                abs(row.expected_value_90d - row.expected_purchases_90d * row.expected_order_value)
                <= 0.5 + 0.5 * row.expected_purchases_90d
            )
            assert row.expected_purchases_90d <= row.expected_purchases_365d

    # A refit with a holdout: judged against a plain count, and replaces every score.
    calibration_end = LAST_DAY - timedelta(days=56)
    with write() as session:
        second = service.fit_and_score(
            session,
            warehouse,
            model="pareto_nbd",
            now=NOW,
            calibration_end=calibration_end,
            time_unit="day",
            actor="tester",
            timezone=TIMEZONE,
        )
    calibration = _reference_summary(data, calibration_end, TimeUnit.DAY)
    holdout = data.purchase_days_between(calibration_end, LAST_DAY)
    actual = sum(holdout.get(c, 0) for c in calibration.customer_ids.tolist())
    assert second.quality["total_actual"] == actual
    assert second.quality["holdout_length"] == 56
    assert second.count_fit.customers == len(calibration)
    with write() as session:
        stored = _stored(session)
        assert sorted(stored) == expected.customer_ids.tolist()  # scored up to yesterday
        assert {row.fit_id for row in stored.values()} == {second.count_fit_id}
        assert session.scalar(select(func.count()).select_from(ClvFit)) == 4


def test_bad_requests_fail_with_stable_codes(
    committed_engine: Engine, write: Write, warehouse: Warehouse
) -> None:
    with write() as session:
        clv_data.build(session, customers=6)
    export.sync(committed_engine, warehouse, now=NOW)
    cases = [
        ({"model": "btyd"}, "analytics.invalid_request"),
        ({"time_unit": "month"}, "analytics.invalid_request"),
        ({"calibration_end": NOW.date()}, "analytics.invalid_request"),
        ({}, "analytics.clv_not_enough_customers"),
    ]
    for overrides, code in cases:
        arguments: dict[str, object] = {"model": "bgnbd", "time_unit": "week"} | overrides
        with write() as session, pytest.raises(SiyuError) as raised:
            service.fit_and_score(
                session,
                warehouse,
                now=NOW,
                actor="t",
                timezone=TIMEZONE,
                **arguments,  # type: ignore[arg-type]
            )
        assert (raised.value.status, raised.value.code) == (400, code), overrides
    with write() as session:
        assert session.scalar(select(func.count()).select_from(ClvFit)) == 0
        assert session.scalar(select(func.count()).select_from(CustomerValue)) == 0
