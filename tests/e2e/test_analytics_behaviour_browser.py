"""The traffic map, funnels and cohorts dashboards in a real browser: data from the
real exporter, the ECharts Sankey, funnel bars and cohort heatmap drawn
(``data-rendered="true"``), the funnel editor and the cohort toggle."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics import behaviour_reference as reference
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.e2e.test_console_browser import screenshot
from tests.factories import make_staff

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "behaviour-admin", "behaviour-admin-password"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    box = sandbox(tmp_path_factory, "behaviour")
    now = clock.now()
    with transaction(box.factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        reference.build(session, random.Random(4), now=now, customers=60)
    export.sync(box.engine, Warehouse.from_settings(box.settings), now=now)
    with serving(box) as url:
        yield url


def _rendered(page: Any, chart_id: str) -> None:
    page.wait_for_selector(f'#{chart_id}[data-rendered="true"]')
    page.locator(f"#{chart_id} canvas").first.wait_for(state="visible")


def test_traffic_funnels_and_cohorts_pages(page: Any, base_url: str) -> None:
    page.set_default_timeout(8000)
    sign_in_to_console(page, base_url, ADMIN, PASSWORD)

    page.goto(base_url + "/console/analytics/traffic")
    assert page.locator("h1").inner_text() == "流量地图"
    _rendered(page, "traffic-sankey")
    assert page.locator("#table-traffic_steps tbody tr").count() == 4
    screenshot(page, "analytics-traffic")

    page.goto(base_url + "/console/analytics/funnels")
    assert page.locator("h1").inner_text() == "转化漏斗"
    assert page.input_value("#funnel-steps-editor tr[data-step='1'] input[name=step]") == (
        "product_view"
    )
    _rendered(page, "funnel-chart")
    _rendered(page, "lifecycle-chart")
    assert page.locator("#table-funnel_steps tbody tr").count() == 4
    # Edit the funnel: two steps within 2 hours, sliced by channel code.
    page.fill("#funnel-steps-editor tr[data-step='2'] input[name=step]", "order_paid")
    page.fill("#funnel-steps-editor tr[data-step='3'] input[name=step]", "")
    page.fill("#funnel-steps-editor tr[data-step='4'] input[name=step]", "")
    page.fill("#funnel-form input[name=window]", "2")
    page.select_option("#funnel-form select[name=unit]", "hour")
    page.select_option("#funnel-form select[name=slice]", "channel_code")
    page.click("#funnel-apply")
    page.wait_for_url("**unit=hour**")
    _rendered(page, "funnel-chart")
    assert page.locator("#table-funnel_steps tbody tr").count() == 2
    assert page.locator("#table-funnel_slices").is_visible()
    screenshot(page, "analytics-funnels")

    page.goto(base_url + "/console/analytics/cohorts")
    assert page.locator("h1").inner_text() == "同期群"
    _rendered(page, "cohort-heatmap")
    _rendered(page, "cohort-ltv")
    page.select_option("#analytics-filters select[name=by]", "channel")
    page.select_option("#analytics-filters select[name=measure]", "ltv")
    page.click("#analytics-apply")
    page.wait_for_url("**by=channel**")
    _rendered(page, "cohort-heatmap")
    assert page.locator("#table-cohort_ltv tbody tr").count() >= 2
    screenshot(page, "analytics-cohorts")
