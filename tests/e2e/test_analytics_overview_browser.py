"""The analytics overview and GMV driver tree in a real browser: generated orders and
events through the real exporter, KPI cards, the ECharts charts rendered, the slice
and drill-down tables and a CSV export link."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics import metrics_reference as ref
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.e2e.test_console_browser import screenshot
from tests.factories import make_staff

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "metrics-admin", "metrics-admin-password"


@dataclass(frozen=True)
class Site:
    base_url: str
    factory: sessionmaker[Session]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    box = sandbox(tmp_path_factory, "metrics")
    now = clock.now()
    with transaction(box.factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        ref.build(session, random.Random(3), now=now, customers=50)
    export.sync(box.engine, Warehouse.from_settings(box.settings), now=now)
    with serving(box) as base_url:
        yield Site(base_url, box.factory)


def test_overview_and_driver_tree_pages(page: Any, site: Site) -> None:
    page.set_default_timeout(8000)
    sign_in_to_console(page, site.base_url, ADMIN, PASSWORD)
    page.goto(site.url("/console/analytics?grain=week&slice=store"))
    assert page.locator("h1").inner_text() == "经营总览"
    gmv = page.locator("[data-testid=kpi-gmv]").inner_text()
    assert gmv.startswith("¥")
    assert gmv != "¥0.00"
    assert page.locator("[data-kpi]").count() == 14
    page.wait_for_selector("#overview-trend-chart[data-rendered=true]")
    page.locator("#overview-trend-chart canvas").first.wait_for(state="visible")
    stores = page.locator("#table-slices tbody tr").all_inner_texts()
    assert any("门店1" in text for text in stores)
    link = page.locator("#overview-slices [data-export=csv]").get_attribute("href")
    assert link is not None
    assert "format=csv" in link
    assert "table=slices" in link
    screenshot(page, "analytics-overview")
    # Credit split by an attribution model: fractional orders still render.
    page.goto(site.url("/console/analytics?slice=touchpoint&model=position_based&grain=month"))
    assert page.locator("#analytics-filters select[name=model]").input_value() == "position_based"
    assert page.locator("#table-slices tbody tr").count() >= 2
    page.wait_for_selector("#overview-trend-chart[data-rendered=true]")

    page.click("#analytics-tabs [data-tab=drivers]")
    page.wait_for_selector("#drivers-tree-chart")
    assert page.locator("h1").inner_text() == "GMV 驱动树"
    page.select_option("#analytics-filters select[name=drill]", "store")
    page.click("#analytics-apply")
    page.wait_for_selector("#drivers-drill")
    page.wait_for_selector("#drivers-tree-chart[data-rendered=true]")
    page.wait_for_selector("#drivers-bridge-chart[data-rendered=true]")
    factors = page.locator("#table-factors tbody tr").all_inner_texts()
    assert len(factors) == 5  # four factors and the GMV row
    assert "访客数" in factors[0]
    assert page.locator("[data-testid=drivers-change]").inner_text().startswith("¥")
    assert page.locator("#table-drill tbody tr").count() >= 2
    screenshot(page, "analytics-drivers")
