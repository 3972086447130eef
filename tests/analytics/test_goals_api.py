"""Goals API: the authorization matrix of every endpoint, CRUD, stable 4xx codes, the
store manager's scope, and the CSV/XLSX downloads of the goal's tables."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.analytics import RevenueGoal
from siyu.models.location import Location
from siyu.models.staff import Role
from tests.catalog.factories import bearer
from tests.factories import make_staff, make_token

FACTORS = {
    "new_customers": 100,
    "new_aov": 10_000,
    "new_frequency": 1.0,
    "returning_customers": 50,
    "returning_aov": 20_000,
    "returning_frequency": 2.0,
}
BODY: dict[str, Any] = {
    "name": "十二月目标",
    "target_amount": 3_000_000,
    "period_start": "2026-12-01",
    "period_end": "2026-12-31",
    "factors": FACTORS,
}


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RevenueGoal)) or 0


def test_authorization_matrix(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    operator = bearer(session, Role.OPERATOR)
    created = api.post("/api/v1/analytics/goals", json=BODY, headers=operator)
    assert created.status_code == 201, created.text
    goal_id = created.json()["id"]
    routes = [
        ("GET", "/api/v1/analytics/goals", None, 200),
        ("POST", "/api/v1/analytics/goals", BODY, 201),
        ("GET", f"/api/v1/analytics/goals/{goal_id}", None, 200),
        ("PATCH", f"/api/v1/analytics/goals/{goal_id}", {"name": "改名"}, 200),
        ("DELETE", f"/api/v1/analytics/goals/{goal_id}", None, 204),
    ]
    guide = bearer(session, Role.GUIDE)  # no analytics.read
    analyst = bearer(session, Role.ANALYST)  # reads, does not set goals
    for method, url, body, allowed in routes:
        before = _count(session)
        assert api.request(method, url, json=body).status_code == 401, url
        assert api.request(method, url, json=body, headers=guide).status_code == 403, url
        reading = method == "GET"
        analyst_status = api.request(method, url, json=body, headers=analyst).status_code
        assert analyst_status == (200 if reading else 403), url
        assert _count(session) == before
        assert api.request(method, url, json=body, headers=operator).status_code == allowed, url
    assert api.get(f"/api/v1/analytics/goals/{goal_id}", headers=operator).status_code == 404


def test_goal_report_and_exports(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    admin = bearer(session, Role.ADMIN)
    goal_id = api.post("/api/v1/analytics/goals", json=BODY, headers=admin).json()["id"]
    report = api.get(f"/api/v1/analytics/goals/{goal_id}", headers=admin)
    assert report.status_code == 200, report.text
    body = report.json()
    plan = body["goal"]["plan"]
    assert (plan["method"], plan["spread"]) == ("explicit", "even")  # empty warehouse
    assert (plan["new"]["amount"], plan["returning"]["amount"]) == (1_000_000, 2_000_000)
    assert sum(plan["daily"]) == 3_000_000
    assert len(body["spread_day"]) == 31
    assert [row["target"] for row in body["spread_month"]] == [3_000_000]
    assert sum(row["target"] for row in body["spread_week"]) == 3_000_000
    assert body["pacing"]["as_of"] is None  # December has not started on 22 Nov
    listed = api.get("/api/v1/analytics/goals", headers=admin).json()["items"]
    assert [item["id"] for item in listed] == [goal_id]

    url = f"/api/v1/analytics/goals/{goal_id}"
    exported = api.get(url, params={"format": "csv", "table": "spread_day"}, headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == 'attachment; filename="spread_day.csv"'
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["Period", "Target (¥)"]
    assert len(rows) == 32
    assert round(sum(float(row[1]) for row in rows[1:]), 2) == 30_000.0
    workbook = api.get(url, params={"format": "xlsx", "table": "decomposition"}, headers=admin)
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("Segment", "Customers")
    assert [row[0] for row in values[1:]] == ["New customers", "Returning customers", "Total"]
    assert values[3][4] == 30_000.0  # the total target in yuan
    unknown = api.get(url, params={"format": "csv", "table": "nope"}, headers=admin)
    assert (unknown.status_code, unknown.json()["code"]) == (400, "analytics.invalid_request")


def test_bad_input_has_stable_codes_and_writes_nothing(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    admin = bearer(session, Role.ADMIN)
    cases = [
        ({"target_amount": 0}, 400, "analytics.goal_invalid_target"),
        ({"target_amount": -5}, 400, "analytics.goal_invalid_target"),
        ({"period_end": "2026-11-01"}, 400, "analytics.invalid_period"),
        ({"period_end": "2028-01-01"}, 400, "analytics.invalid_period"),
        (
            {"period_start": "0001-01-01", "period_end": "0001-01-31"},
            400,
            "analytics.invalid_period",
        ),
        ({"target_amount": 9_000_000}, 400, "analytics.goal_factors_inconsistent"),
        (
            {"slice_dimension": "channel_code", "slice_value": 424242},
            400,
            "analytics.invalid_slice",
        ),
        ({"slice_dimension": "store"}, 400, "analytics.invalid_slice"),
        ({"slice_dimension": "campaign", "slice_value": 1}, 422, "request.invalid"),
        ({"slice_dimension": "store", "slice_value": 2**70}, 422, "request.invalid"),
        ({"target_amount": 10**20}, 422, "request.invalid"),
        ({"factors": None}, 400, "analytics.not_enough_data"),  # nothing to derive from
        ({"base_start": "2025-12-01"}, 400, "analytics.invalid_period"),
    ]
    for change, status, code in cases:
        response = api.post("/api/v1/analytics/goals", json={**BODY, **change}, headers=admin)
        assert (response.status_code, response.json()["code"]) == (status, code), change
    assert _count(session) == 0
    assert api.get("/api/v1/analytics/goals/999999", headers=admin).status_code == 404
    missing = api.patch("/api/v1/analytics/goals/999999", json={"name": "x"}, headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "analytics.not_found")


def test_a_store_manager_sees_and_sets_only_their_store(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    stores = [Location(code=f"G{number}", name=f"门店{number}", kind="store") for number in (1, 2)]
    session.add_all(stores)
    session.flush()
    own, other = stores
    manager = make_staff(session, roles=[Role.STORE_MANAGER], store_id=own.id)
    headers = {"Authorization": f"Bearer {make_token(session, manager)}"}
    admin = bearer(session, Role.ADMIN)
    brand = api.post("/api/v1/analytics/goals", json=BODY, headers=admin).json()["id"]
    created = api.post("/api/v1/analytics/goals", json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    assert (created.json()["slice_dimension"], created.json()["slice_value"]) == (
        "store",
        str(own.id),
    )
    refused = api.post(
        "/api/v1/analytics/goals",
        json={**BODY, "slice_dimension": "store", "slice_value": other.id},
        headers=headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "analytics.goal_slice_forbidden")
    listed = api.get("/api/v1/analytics/goals", headers=headers).json()["items"]
    assert [item["id"] for item in listed] == [created.json()["id"]]
    assert api.get(f"/api/v1/analytics/goals/{brand}", headers=headers).status_code == 404
    assert api.delete(f"/api/v1/analytics/goals/{brand}", headers=headers).status_code == 404
    moved = api.patch(
        f"/api/v1/analytics/goals/{created.json()['id']}",
        json={"slice_dimension": "store", "slice_value": other.id},
        headers=headers,
    )
    assert moved.status_code == 403
    assert _count(session) == 2
    all_goals = api.get("/api/v1/analytics/goals", headers=admin).json()["items"]
    assert len(all_goals) == 2
