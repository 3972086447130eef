"""The console in a real browser: sign-in, a failed sign-in, and creating staff.

Set SIYU_E2E_SCREENSHOTS=<dir> to keep screenshots of the login, dashboard and staff
pages for a look by eye.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, FINISHED_JOBS, LiveServer

pytestmark = pytest.mark.e2e


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("SIYU_E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        # Let the chart's entry animation finish so the picture shows the real bars.
        page.wait_for_timeout(600)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page: Any, server: LiveServer, username: str, password: str) -> None:
    page.goto(server.url("/console/login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")


def test_login_shows_the_dashboard_with_its_chart(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url("/console/staff"))
    # Anonymous: sent to the login page, which remembers where we were going.
    assert page.url == live_server.url("/console/login?next=%2Fconsole%2Fstaff")
    assert page.locator("h1").inner_text() == "登录控制台"
    screenshot(page, "login")

    sign_in(page, live_server, ADMIN_USERNAME, ADMIN_PASSWORD)

    page.wait_for_url(live_server.url("/console"))
    assert page.locator("[data-testid=current-user]").inner_text() == "系统管理员"
    canvas = page.locator("#jobs-chart canvas")
    canvas.first.wait_for(state="visible")
    assert canvas.count() >= 1
    assert page.locator("[data-testid=chart-total]").inner_text() == f"合计 {FINISHED_JOBS} 个"
    assert page.locator("[data-testid=job-succeeded] .stat-value").inner_text() == str(
        FINISHED_JOBS
    )
    assert page.locator("#chart-empty").count() == 0
    screenshot(page, "dashboard")


def test_a_failed_login_shows_the_error(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, ADMIN_USERNAME, "not-the-password")

    error = page.locator("#login-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "用户名或密码错误"
    assert page.url.startswith(live_server.url("/console/login"))
    # The username stays in the field; the password never comes back.
    assert page.input_value("input[name=username]") == ADMIN_USERNAME
    assert page.input_value("input[name=password]") == ""
    screenshot(page, "login-failed")


def test_an_admin_creates_a_staff_member_who_can_then_sign_in(
    page: Any, live_server: LiveServer
) -> None:
    sign_in(page, live_server, ADMIN_USERNAME, ADMIN_PASSWORD)
    page.wait_for_url(live_server.url("/console"))
    page.click("a[data-section=staff]")
    page.wait_for_url(live_server.url("/console/staff"))

    form = page.locator("#create-staff-form")
    form.locator("input[name=username]").fill("li.lei")
    form.locator("input[name=display_name]").fill("李雷")
    form.locator("input[name=password]").fill("li-lei-password")
    form.locator("input[name=roles][value=operator]").check()
    form.locator("button[type=submit]").click()

    page.wait_for_url(re.compile(r".*/console/staff\?created=\d+$"))
    row = page.locator("tr[data-username='li.lei']")
    row.wait_for(state="visible")
    assert "李雷" in row.inner_text()
    assert "运营" in row.inner_text()
    assert page.locator(".flash-success").inner_text() == "已创建员工账号 li.lei"
    screenshot(page, "staff")

    # The row actions go through htmx: reset the password and read it off the flash.
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("form[action$='/password'] button").click()
    secret = page.locator("[data-testid=new-password]")
    secret.wait_for(state="visible")
    new_password = secret.inner_text().strip()
    assert len(new_password) >= 8
    screenshot(page, "staff-password-reset")

    page.locator("form.logout button").click()
    page.wait_for_url(live_server.url("/console/login"))
    sign_in(page, live_server, "li.lei", new_password)
    page.wait_for_url(live_server.url("/console"))
    assert page.locator("[data-testid=current-user]").inner_text() == "李雷"
    # An operator sees the business sections but not staff management or the audit log.
    assert page.locator("a[data-section=customers]").count() == 1
    assert page.locator("a[data-section=staff]").count() == 0
    assert page.locator("a[data-section=audit]").count() == 0
