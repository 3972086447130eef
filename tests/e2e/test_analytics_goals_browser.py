"""Goals in a real browser: create a goal derived from last period's orders through the
console form, see the decomposition, the spread, the pacing chart render and the
"behind" callout; a bad target is refused on the form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.audiences.traits_data import new_customers, paid_order
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.e2e.test_console_browser import screenshot
from tests.factories import make_staff

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "goals-admin", "goals-admin-password"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    box = sandbox(tmp_path_factory, "goals")
    now = clock.now()
    with transaction(box.factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        ids = new_customers(session, 12, at=now - timedelta(days=200))
        # Every customer buys every ten days over the last 80 days, noon local time.
        for index, customer_id in enumerate(ids):
            for days_ago in range(1 + index % 10, 80, 10):
                moment = (now - timedelta(days=days_ago)).replace(hour=4, minute=0)
                paid_order(session, customer_id, at=moment, amount=10_000 + 1_000 * index)
    export.sync(box.engine, Warehouse.from_settings(box.settings), now=now)
    with serving(box) as base_url:
        yield base_url, box.settings


def test_create_a_goal_and_see_its_pacing(page: Any, site: tuple[str, Settings]) -> None:
    base_url, settings = site
    page.set_default_timeout(10000)
    today = clock.now().astimezone(settings.tzinfo).date()
    start = today - timedelta(days=14)
    end = start + timedelta(days=29)
    sign_in_to_console(page, base_url, ADMIN, PASSWORD)
    page.goto(base_url + "/console/analytics/goals")
    assert page.locator("#goals-empty").is_visible()
    page.click("#goal-new")
    page.fill("#goal-form input[name=name]", "月度目标")
    page.fill("#goal-form input[name=target_yuan]", "0")
    page.fill("#goal-form input[name=period_start]", start.isoformat())
    page.fill("#goal-form input[name=period_end]", end.isoformat())
    page.click("#goal-save")
    assert page.locator("#goal-error").inner_text() == "目标金额须大于 0。"

    page.fill("#goal-form input[name=target_yuan]", "500000")
    page.click("#goal-save")
    page.locator("#goal-pacing-chart[data-rendered=true]").wait_for()
    assert page.locator("h1").inner_text() == "月度目标"
    assert page.locator("#goal-target").inner_text() == "¥500,000.00"
    rows = page.locator("#table-decomposition tbody tr")
    assert rows.count() == 3
    assert rows.nth(2).locator("[data-column=amount]").inner_text() == "¥500,000.00"
    # Far above what the last 30 days sold: some factor is behind.
    assert page.locator("#goal-behind").is_visible()
    assert page.locator("#table-pacing tbody tr").count() == 30
    screenshot(page, "analytics-goals")
    page.goto(base_url + "/console/analytics/goals")
    assert page.locator("#goals-table tbody tr[data-goal]").count() == 1
