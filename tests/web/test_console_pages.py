"""Console pages: dashboard figures, system status, sections to come, errors, headers."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.app import create_app
from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings
from siyu.models.job import Job, JobStatus
from siyu.models.outbox import OutboxEvent, OutboxStatus
from siyu.models.staff import Role
from siyu.web.console.navigation import SECTIONS, Section
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import page_token, sign_in


def chart_data(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="jobs-chart-data">(.*?)</script>', html)
    assert match
    data: dict[str, object] = json.loads(match.group(1))
    return data


def add_job(
    session: Session,
    clock: FrozenClock,
    *,
    status: JobStatus,
    finished_hours_ago: float,
    error: str | None = None,
) -> Job:
    now = clock.now()
    job = Job(
        task="test.task",
        payload={},
        status=status,
        run_at=now,
        created_at=now,
        finished_at=now - timedelta(hours=finished_hours_ago),
        last_error=error,
    )
    session.add(job)
    session.flush()
    return job


def test_dashboard_shows_no_data_yet_when_nothing_ran(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    sign_in(api, "boss", DEFAULT_PASSWORD)
    page = api.get("/console")
    assert "近 24 小时还没有完成的任务，暂无数据" in page.text
    data = chart_data(page.text)
    assert data["values"] == [0] * 24
    assert data["total"] == 0
    # 02:00 UTC is 10:00 in Shanghai.
    labels = data["labels"]
    assert isinstance(labels, list)
    assert labels[-1] == "10:00"
    assert labels[0] == "11:00"


def test_dashboard_counts_real_jobs_per_hour(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    for hours_ago in (0.5, 0.6, 1.5, 30):
        add_job(session, frozen_clock, status=JobStatus.SUCCEEDED, finished_hours_ago=hours_ago)
    add_job(session, frozen_clock, status=JobStatus.DEAD, finished_hours_ago=2)
    sign_in(api, "boss", DEFAULT_PASSWORD)
    page = api.get("/console")
    data = chart_data(page.text)
    values = data["values"]
    assert isinstance(values, list)
    # 01:30 and 01:24 UTC fall in the 09:00 Shanghai bucket, 00:30 UTC in 08:00; the
    # job of 30 hours ago is outside the window and the dead one is not "finished".
    assert values[-3:] == [1, 2, 0]
    assert sum(values) == 3
    assert data["total"] == 3
    assert "暂无数据" not in page.text
    assert re.search(r'data-testid="job-succeeded">\s*<span class="stat-value">4<', page.text)
    assert re.search(r'data-testid="job-dead">\s*<span class="stat-value">1<', page.text)
    assert 'src="/static/vendor/echarts.min.js"' in page.text


def test_system_page_lists_dead_items_escaped(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    make_staff(session, username="lee", roles=[Role.OPERATOR])
    add_job(
        session,
        frozen_clock,
        status=JobStatus.DEAD,
        finished_hours_ago=1,
        error="boom <script>x</script>",
    )
    session.add(
        OutboxEvent(
            event_id="0f2b7c1e-0000-4000-8000-000000000001",
            name="order.paid",
            payload={},
            occurred_at=frozen_clock.now(),
            available_at=frozen_clock.now(),
            status=OutboxStatus.DEAD,
            attempts=8,
            last_error="handler failed",
        )
    )
    session.flush()
    sign_in(api, "boss", DEFAULT_PASSWORD)
    page = api.get("/console/system")
    assert page.status_code == 200
    assert "boom &lt;script&gt;x&lt;/script&gt;" in page.text
    assert "<script>x" not in page.text
    assert "order.paid" in page.text
    assert "handler failed" in page.text
    # 01:00 UTC shown as 09:00 in Shanghai.
    assert "2026-11-22 09:00:00" in page.text

    api.cookies.clear()
    sign_in(api, "lee", DEFAULT_PASSWORD)
    assert api.get("/console/system").status_code == 403


@pytest.mark.parametrize("section", [s for s in SECTIONS if not s.built], ids=lambda s: s.slug)
def test_sections_to_come_say_which_issue_brings_them(
    api: TestClient, session: Session, section: Section
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    sign_in(api, "boss", DEFAULT_PASSWORD)
    page = api.get(section.path)
    assert page.status_code == 200
    issue = section.issue
    expected = f"该模块将在 #{issue} 中上线" if issue else "该模块将在后续版本中上线"
    assert expected in page.text
    assert 'aria-current="page"' in page.text


def test_navigation_hides_what_a_role_cannot_open(api: TestClient, session: Session) -> None:
    make_staff(session, username="ana", roles=[Role.ANALYST])
    sign_in(api, "ana", DEFAULT_PASSWORD)
    page = api.get("/console").text
    shown = set(re.findall(r'data-section="([a-z]+)"', page))
    assert shown == {"dashboard", "customers", "events", "orders", "analytics", "warehouse"}
    assert api.get("/console/catalog").status_code == 403
    assert api.get("/console/audit").status_code == 403


def test_console_errors_are_pages_not_json(api: TestClient, session: Session) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    token = sign_in(api, "boss", DEFAULT_PASSWORD)
    missing = api.get("/console/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "没有这个页面" in missing.text
    bad_id = api.post("/console/staff/abc/disable", data={"csrf_token": token})
    assert bad_id.status_code == 422
    assert bad_id.headers["content-type"].startswith("text/html")
    # Outside the console the JSON problems stay.
    assert api.get("/api/v1/nope").headers["content-type"] == "application/problem+json"


def test_pages_send_security_headers(api: TestClient, session: Session) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    sign_in(api, "boss", DEFAULT_PASSWORD)
    for path in ["/console", "/console/login"]:
        headers = api.get(path, follow_redirects=False).headers
        if path == "/console":
            assert "script-src 'self'" in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            assert headers["cache-control"] == "no-store"
    assert page_token(api.get("/console").text)


def test_an_unexpected_error_is_an_html_page(
    api: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    sign_in(api, "boss", DEFAULT_PASSWORD)

    def broken(_session: Session) -> dict[str, int]:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("siyu.core.jobs.job_stats", broken)
    response = api.get("/console")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "服务器内部错误" in response.text
    assert "simulated failure" not in response.text


def test_missing_node_modules_is_a_warning_at_start_up(
    test_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = test_settings.model_copy(update={"vendor_dir": tmp_path / "node_modules"})
    with caplog.at_level(logging.WARNING, logger="siyu.web"):
        create_app(settings, start_worker=False)
    assert "npm install" in caplog.text
