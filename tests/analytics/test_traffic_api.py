"""Behaviour analytics API (traffic map, funnels, lifecycle funnel, cohorts): the
authorization matrix of every endpoint, numbers equal to the plain-Python reference
for the brand and a store manager, CSV/XLSX downloads, and bad input as stable 4xx."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.settings import Settings
from siyu.models.staff import Role
from siyu.warehouse.engine import Warehouse
from tests.analytics import behaviour_reference as reference
from tests.analytics.helpers import bearer_headers

START, END = date(2026, 9, 1), date(2026, 11, 20)
QUERY = f"start={START.isoformat()}&end={END.isoformat()}"
FUNNEL: dict[str, Any] = {
    "steps": [{"type": "product_view"}, {"type": "add_to_cart"}, {"type": "order_paid"}],
    "window_seconds": 86400,
    "slice": "touchpoint",
}


def _calls(api: TestClient) -> dict[str, Callable[[dict[str, str], str], Response]]:
    return {
        "traffic": lambda headers, extra: api.get(
            f"/api/v1/analytics/traffic?{QUERY}{extra}", headers=headers
        ),
        "funnel": lambda headers, extra: api.post(
            f"/api/v1/analytics/funnels?{QUERY}{extra}", json=FUNNEL, headers=headers
        ),
        "lifecycle": lambda headers, extra: api.get(
            f"/api/v1/analytics/funnels/lifecycle?{QUERY}{extra}", headers=headers
        ),
        "cohorts": lambda headers, extra: api.get(
            f"/api/v1/analytics/cohorts?{QUERY}&by=channel&measure=repurchase{extra}",
            headers=headers,
        ),
    }


@pytest.fixture
def world(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    test_settings: Settings,
    frozen_clock: clock.FrozenClock,
) -> reference.World:
    return reference.build_exported(
        committed_engine,
        session_factory,
        Warehouse.from_settings(test_settings),
        seed=3,
        customers=70,
    )


def test_every_endpoint_answers_by_permission_and_scope(
    world: reference.World, api: TestClient, session: Session
) -> None:
    calls = _calls(api)
    analyst = bearer_headers(session, Role.ANALYST)
    guide = bearer_headers(session, Role.GUIDE)
    manager = bearer_headers(session, Role.STORE_MANAGER, store_id=1)
    for name, call in calls.items():
        anonymous = call({}, "")
        assert (anonymous.status_code, name) == (401, name)
        denied = call(guide, "")
        assert (denied.status_code, denied.json()["code"]) == (403, "auth.permission_denied"), name
        assert call(analyst, "").status_code == 200, name

    # Numbers: the JSON equals the plain-Python reference, brand-wide and for store 1.
    for headers, store in ((analyst, None), (manager, 1)):
        flows = reference.traffic(world, START, END, store)
        body = calls["traffic"](headers, "").json()
        assert body["acquired"] == sum(value[0] for value in flows.values())
        assert body["steps"][2]["customers"] == sum(value[1] for value in flows.values())
        totals, _slices = reference.funnel(
            world, START, END, FUNNEL["steps"], timedelta(days=1), "touchpoint", store
        )
        funnel = calls["funnel"](headers, "").json()
        assert [step["customers"] for step in funnel["steps"]] == totals
        assert sum(item["customers"][0] for item in funnel["slices"]) == totals[0]
        life = calls["lifecycle"](headers, "").json()
        assert {stage["stage"]: stage["customers"] for stage in life["stages"]} == (
            reference.lifecycle(world, START, END, store)
        )
        cohorts = calls["cohorts"](headers, "").json()
        want = reference.cohorts(world, START, END, date(2026, 11, 22), "channel", store)
        assert {row["key"]: row["repurchase"] for row in cohorts["cohorts"]} == {
            key: value["repurchase"] for key, value in want.items()
        }


DOWNLOADS = [
    ("traffic", "traffic_sources", "来源"),
    ("traffic", "traffic_steps", "环节"),
    ("funnel", "funnel_slices", "细分"),
    ("lifecycle", "lifecycle_funnel", "阶段"),
    ("cohorts", "cohort_ltv", "获客渠道"),
]


def test_tables_download_as_csv_and_xlsx(
    world: reference.World, api: TestClient, session: Session
) -> None:
    headers = bearer_headers(session, Role.ANALYST)
    for name, table, header in DOWNLOADS:
        call = _calls(api)[name]
        csv = call(headers, f"&format=csv&table={table}")
        assert csv.status_code == 200, csv.text
        assert csv.headers["content-disposition"] == f'attachment; filename="{table}.csv"'
        lines = csv.content.decode("utf-8-sig").splitlines()
        assert lines[0].split(",")[0] == header
        assert len(lines) >= 2, table
        xlsx = call(headers, f"&format=xlsx&table={table}")
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == header
        assert len(rows) == len(lines)
        english = call(headers, f"&format=csv&table={table}&lang=en")
        assert english.content.decode("utf-8-sig").splitlines()[0].split(",")[0] != header
        unknown = call(headers, "&format=csv&table=nope")
        assert (unknown.status_code, unknown.json()["code"]) == (400, "analytics.invalid_request")


def _post_funnel(api: TestClient, headers: dict[str, str], **changes: Any) -> Response:
    return api.post(
        f"/api/v1/analytics/funnels?{QUERY}", json={**FUNNEL, **changes}, headers=headers
    )


def test_bad_requests_are_stable_4xx(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    headers = bearer_headers(session, Role.ANALYST)
    cases: list[tuple[Response, str]] = [
        (_post_funnel(api, headers, steps=[{"type": "product_view"}]), "analytics.invalid_request"),
        (
            _post_funnel(api, headers, steps=[{"type": "x"}, {"type": "order_paid"}]),
            "analytics.invalid_request",
        ),
        (_post_funnel(api, headers, window_seconds=10), "analytics.invalid_request"),
        (_post_funnel(api, headers, window_seconds=10**15), "analytics.invalid_request"),
        (_post_funnel(api, headers, window_seconds=-(10**15)), "analytics.invalid_request"),
        (_post_funnel(api, headers, slice="city"), "analytics.invalid_slice"),
        (
            _post_funnel(
                api,
                headers,
                steps=[{"type": "product_view", "where": {"a b": "1"}}, {"type": "order_paid"}],
            ),
            "analytics.invalid_request",
        ),
        (api.get("/api/v1/analytics/cohorts?by=week", headers=headers), "analytics.invalid_slice"),
        (
            api.get("/api/v1/analytics/cohorts?measure=profit", headers=headers),
            "analytics.invalid_request",
        ),
        (
            api.get("/api/v1/analytics/traffic?start=2026-10-02&end=2026-10-01", headers=headers),
            "analytics.invalid_period",
        ),
        (
            api.get("/api/v1/analytics/funnels/lifecycle?start=2026-10-02", headers=headers),
            "analytics.invalid_period",
        ),
    ]
    for response, code in cases:
        assert (response.status_code, response.json()["code"]) == (400, code), response.text
    # Defaults: the last 30 days (traffic) and the last year (cohorts) answer on an
    # empty warehouse too.
    traffic = api.get("/api/v1/analytics/traffic", headers=headers).json()
    assert (traffic["period"], traffic["acquired"]) == (
        {"start": "2026-10-23", "end": "2026-11-21"},
        0,
    )
    cohorts = api.get("/api/v1/analytics/cohorts", headers=headers).json()
    first = date.fromisoformat(cohorts["period"]["start"])
    assert (first, cohorts["period"]["end"], cohorts["cohorts"]) == (
        date(2025, 11, 22),
        "2026-11-21",
        [],
    )
