"""Console pages of goals (signed in through the form): who may open them, the form's
refusals with the catalog's wording, creating, the detail page and its exports, and
deleting; a store manager's form offers only their store."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.analytics import RevenueGoal
from siyu.models.location import Location
from siyu.models.staff import Role
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

FORM = {
    "name": "十二月",
    "target_yuan": "30000",
    "period_start": "2026-12-01",
    "period_end": "2026-12-31",
    "slice": "",
    "mode": "explicit",
    "new_customers": "100",
    "new_aov_yuan": "100",
    "new_frequency": "1",
    "returning_customers": "50",
    "returning_aov_yuan": "200",
    "returning_frequency": "2",
}


def _goals(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RevenueGoal)) or 0


def test_pages_need_analytics_read(api: TestClient, session: Session) -> None:
    anonymous = api.get("/console/analytics/goals", follow_redirects=False)
    assert anonymous.status_code in (302, 303)
    guide = make_staff(session, roles=[Role.GUIDE])
    sign_in(api, guide.username, DEFAULT_PASSWORD)
    assert api.get("/console/analytics/goals").status_code == 403
    assert api.get("/console/analytics/goals/new").status_code == 403


def test_analyst_reads_but_cannot_create(api: TestClient, session: Session) -> None:
    analyst = make_staff(session, roles=[Role.ANALYST])
    token = sign_in(api, analyst.username, DEFAULT_PASSWORD)
    listing = api.get("/console/analytics/goals")
    assert listing.status_code == 200
    assert 'id="goal-new"' not in listing.text
    assert api.get("/console/analytics/goals/new").status_code == 403
    refused = api.post("/console/analytics/goals", data={**FORM, "csrf_token": token})
    assert refused.status_code == 403
    assert _goals(session) == 0


def test_create_view_export_and_delete(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    operator = make_staff(session, roles=[Role.OPERATOR])
    token = sign_in(api, operator.username, DEFAULT_PASSWORD)
    form = api.get("/console/analytics/goals/new")
    assert form.status_code == 200
    assert 'value="2026-12-01"' in form.text  # next month by default
    for change, message in (
        ({"target_yuan": "abc"}, "请检查填写的金额、日期与数字。"),
        ({"target_yuan": "0"}, "目标金额须大于 0。"),
        ({"target_yuan": "50000"}, "填写的因子乘积与目标金额不一致。"),
    ):
        refused = api.post("/console/analytics/goals", data={**FORM, **change, "csrf_token": token})
        assert refused.status_code in (400, 422)
        assert message in refused.text
    assert _goals(session) == 0
    created = api.post(
        "/console/analytics/goals", data={**FORM, "csrf_token": token}, follow_redirects=False
    )
    assert created.status_code == 303
    detail_url = created.headers["location"]
    detail = api.get(detail_url)
    assert detail.status_code == 200
    assert 'id="goal-pacing-chart"' in detail.text
    assert "周期尚未开始" in detail.text
    exported = api.get(detail_url, params={"format": "csv", "table": "spread_week"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["期间", "目标 (¥)"]
    assert round(sum(float(row[1]) for row in rows[1:]), 2) == 30_000.0
    listing = api.get("/console/analytics/goals")
    assert "十二月" in listing.text
    goal_id = int(detail_url.rsplit("/", 1)[1])
    deleted = api.post(
        f"/console/analytics/goals/{goal_id}/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert _goals(session) == 0


def test_store_manager_form_offers_only_their_store(api: TestClient, session: Session) -> None:
    own, other = Location(code="CS1", name="静安店"), Location(code="CS2", name="徐汇店")
    session.add_all([own, other])
    session.flush()
    manager = make_staff(session, roles=[Role.STORE_MANAGER], store_id=own.id)
    sign_in(api, manager.username, DEFAULT_PASSWORD)
    form = api.get("/console/analytics/goals/new")
    assert form.status_code == 200
    assert f'value="store:{own.id}"' in form.text
    assert f'value="store:{other.id}"' not in form.text
    assert "全品牌" not in form.text
