"""The diagnosis grid equals a plain-Python computation: each cell's campaigns (by
touchpoint and lifecycle stage, drafts excluded) and the audience left alone in it;
store scope."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics.diagnosis import ROWS, STAGES, diagnosis_grid
from siyu.analytics.period import Period
from siyu.audiences import traits
from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.audience import CustomerTrait
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse
from tests.analytics import campaigns_reference as ref
from tests.analytics.conftest import TIMEZONE, OpenAnalytics
from tests.analytics.helpers import commit_and_export
from tests.factories import make_staff

PERIOD = Period(date(2026, 10, 23), date(2026, 11, 21))
TODAY = date(2026, 11, 22)


def test_diagnosis_grid_equals_a_plain_python_computation(
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
        lambda session, now: ref.build_grid(
            session, random.Random(5), now=now, staff_id=make_staff(session).id
        ),
    )
    with transaction(session_factory) as session:
        traits.recompute(session, warehouse, now=clock.now())
    with transaction(session_factory) as session:
        rows = session.execute(select(CustomerTrait.customer_id, CustomerTrait.ops_stage)).all()
        stages = {customer_id: stage for customer_id, stage in rows}
    assert {"active", "dormant", "churned"} <= set(stages.values())
    begin, finish = PERIOD.utc_bounds(TIMEZONE)
    names = {campaign["id"]: campaign["object"].name for campaign in data.campaigns.values()}
    for store_id in (None, 2):
        scope = (
            DataScope(ScopeKind.ALL)
            if store_id is None
            else DataScope(ScopeKind.STORE, store_id=store_id)
        )
        with (
            transaction(session_factory) as session,
            open_test_analytics(session, today=TODAY, scope=scope) as analytics,
        ):
            grid = diagnosis_grid(analytics, session, PERIOD)
        expected = ref.grid_reference(data, stages, begin, finish, store_id=store_id)
        assert [(cell.touchpoint, cell.stage) for cell in grid.cells] == [
            (row, stage) for row in ROWS for stage in STAGES
        ]
        assert {(cell.touchpoint, cell.stage): cell.audience for cell in grid.cells} == expected
        acted = {
            (cell.touchpoint, cell.stage): [names[item.campaign_id] for item in cell.campaigns]
            for cell in grid.cells
            if cell.campaigns
        }
        assert acted == {
            ("mp", "retain"): ["会员日"],
            ("wecom", "retain"): ["会员日"],
            ("offline", "acquire"): ["门店拉新"],
        }
        assert grid.missing_count == 30 - 3
        assert grid.cell("oa", "convert").missing
        assert sum(expected.values()) > 0
        # Offline reach is a store order, so nobody offline is still to acquire.
        assert expected[("offline", "acquire")] == 0
        assert all(expected[(row, "acquire")] > 0 for row in ROWS if row != "offline")
