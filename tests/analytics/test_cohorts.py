"""Cohorts by first-order month and by channel: retention, repurchase and cumulative
GMV per customer equal a plain-Python computation on random data, for the whole brand
and a store manager's scope; bad parameters are refused with stable codes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics import cohorts
from siyu.analytics.errors import InvalidAnalyticsRequest, InvalidSlice
from siyu.analytics.period import Period
from siyu.core import clock
from siyu.core.db import transaction
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from siyu.web.i18n import Translator
from tests.analytics import behaviour_reference as reference
from tests.analytics.conftest import OpenAnalytics

START, END = date(2026, 8, 1), date(2026, 10, 31)


def test_cohorts_equal_a_plain_python_computation(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    open_test_analytics: OpenAnalytics,
    frozen_clock: clock.FrozenClock,
) -> None:
    world = reference.build_exported(
        committed_engine, session_factory, warehouse, seed=5, customers=150
    )
    today = clock.now().astimezone(reference.ZONE).date()
    store_one = DataScope(ScopeKind.STORE, staff_id=1, store_id=1)
    for scope, store in ((DataScope(ScopeKind.ALL), None), (store_one, 1)):
        for by in cohorts.COHORT_KINDS:
            expected = reference.cohorts(world, START, END, today, by, store)
            with (
                transaction(session_factory) as session,
                open_test_analytics(session, today=today, scope=scope) as analytics,
            ):
                table = cohorts.cohort_table(analytics, Period(START, END), by=by, measure="ltv")
            got = {
                row.key: {
                    "customers": row.customers,
                    "retention": row.retention,
                    "repurchase": row.repurchase,
                    "ltv": row.ltv,
                }
                for row in table.cohorts
            }
            assert got == expected, (by, store)
            assert len(expected) >= 3, "several cohorts"
            assert table.offsets == list(range(len(next(iter(expected.values()))["ltv"])))
            if by == "month":
                assert [row.key for row in table.cohorts] == ["2026-08", "2026-09", "2026-10"]
                # A month cohort is observed for whole months only: later ones end sooner.
                assert table.cohorts[-1].retention[-1] is None
            if store is None:
                assert any(value for row in table.cohorts for value in row.repurchase[1:])
            tables = cohorts.cohort_tables(table, Translator("zh-CN"))
            assert [item.name for item in tables] == [
                "cohort_ltv",
                "cohort_retention",
                "cohort_repurchase",
            ]
            assert tables[0].rows[0]["m0"] == table.cohorts[0].ltv[0]


def test_an_empty_warehouse_gives_no_cohorts(
    session: Session, warehouse: Warehouse, open_test_analytics: OpenAnalytics
) -> None:
    with open_test_analytics(session, today=date(2026, 11, 22)) as analytics:
        table = cohorts.cohort_table(analytics, Period(START, END), by="channel")
    assert (table.offsets, table.cohorts) == ([], [])


@pytest.mark.parametrize(
    ("by", "measure", "error"),
    [("week", "retention", InvalidSlice), ("month", "profit", InvalidAnalyticsRequest)],
)
def test_unknown_cohort_parameters_are_refused(
    session: Session,
    warehouse: Warehouse,
    open_test_analytics: OpenAnalytics,
    by: str,
    measure: str,
    error: type[Exception],
) -> None:
    with open_test_analytics(session, today=date(2026, 11, 22)) as analytics, pytest.raises(error):
        cohorts.cohort_table(analytics, Period(START, END), by=by, measure=measure)
