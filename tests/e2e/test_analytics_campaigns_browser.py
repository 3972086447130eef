"""Attribution, campaign ROI and the diagnosis grid in a real browser: generated
campaigns, orders, costs and events through the real exporter; the charts render,
the model switch changes the table, a campaign's page shows its holdout interval and
takes a fixed cost, and the grid highlights 缺失 cells with their audience."""

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
from tests.analytics import campaigns_reference as ref
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.e2e.test_console_browser import screenshot
from tests.factories import make_staff

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "roi-admin", "roi-admin-password"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ref.RoiDataset]]:
    box = sandbox(tmp_path_factory, "campaigns")
    now = clock.now()
    with transaction(box.factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        data = ref.build_roi(session, random.Random(11), now=now)
    export.sync(box.engine, Warehouse.from_settings(box.settings), now=now)
    with serving(box) as base_url:
        yield base_url, data


def test_attribution_campaigns_and_diagnosis_pages(
    page: Any, site: tuple[str, ref.RoiDataset]
) -> None:
    base_url, data = site
    page.set_default_timeout(8000)
    sign_in_to_console(page, base_url, ADMIN, PASSWORD)

    page.goto(base_url + "/console/analytics/attribution?dimension=touchpoint")
    assert page.locator("h1").inner_text() == "归因分析"
    page.wait_for_selector("#attribution-chart[data-rendered=true]")
    page.locator("#attribution-chart canvas").first.wait_for(state="visible")
    headers = page.locator("#table-attribution_models thead").inner_text()
    assert all(name in headers for name in ("首次触达", "末次触达", "位置加权"))
    page.select_option("#analytics-filters select[name=model]", "first_touch")
    page.click("#analytics-apply")
    page.wait_for_selector("#attribution-comparison[data-model=first_touch]")
    assert "首次触达" in page.locator("#attribution-result h2").inner_text()
    assert page.locator("#table-attribution tbody tr").count() == 4  # mp, oa, wecom, (none)
    link = page.locator("#attribution-result [data-export=xlsx]").get_attribute("href")
    assert link is not None
    assert "table=attribution" in link
    screenshot(page, "analytics-attribution")

    page.click("#analytics-tabs [data-tab=campaigns]")
    page.wait_for_selector("#roi-chart[data-rendered=true]")
    assert page.locator("#table-campaign_roi tbody tr").count() == 2
    lottery = next(c for c in data.campaigns.values() if c["holdout_percent"])
    page.click(f"#roi-links [data-campaign='{lottery['id']}']")
    page.wait_for_selector("#roi-daily-chart[data-rendered=true]")
    assert page.locator("h1").inner_text() == "双11抽奖"
    assert "95% 置信区间" in page.locator("#roi-ci").inner_text()
    screenshot(page, "analytics-campaign-detail")
    page.fill("#roi-fixed-cost-form input[name=fixed_cost_yuan]", "880")
    page.click("#roi-fixed-cost-save")
    page.wait_for_selector("#roi-flash")
    assert "¥880.00" in page.locator("#table-campaign_costs").inner_text()

    page.click("#analytics-tabs [data-tab=diagnosis]")
    page.wait_for_selector("#diagnosis-grid")
    assert page.locator("h1").inner_text() == "运营诊断"
    retain = page.locator("[data-cell='wecom:retain']")
    assert retain.get_attribute("data-missing") == "false"
    assert "双11抽奖" in retain.inner_text()
    missing = page.locator("#diagnosis-grid td.missing")
    assert missing.count() == 27  # mp and wecom × retain, wecom × refer are worked
    assert "缺失" in missing.first.inner_text()
    assert missing.first.locator("a.create-campaign").get_attribute("href") == (
        "/console/campaigns"
    )
    screenshot(page, "analytics-diagnosis")
