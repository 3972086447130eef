"""The CLV page in a real browser: purchases through the real exporter, "fit now",
the fit summary, both ECharts distributions and the top-customer table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics import clv_data
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.e2e.test_console_browser import screenshot
from tests.factories import make_staff

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "clv-admin", "clv-admin-password"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    box = sandbox(tmp_path_factory, "clv")
    with transaction(box.factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        clv_data.build(session, customers=40, first_days=90)
    export.sync(box.engine, Warehouse.from_settings(box.settings), now=clock.now())
    with serving(box) as url:
        yield url


def test_fit_now_shows_the_fit_and_the_distributions(page: Any, base_url: str) -> None:
    page.set_default_timeout(15000)
    sign_in_to_console(page, base_url, ADMIN, PASSWORD)
    page.goto(base_url + "/console/analytics/clv")
    assert page.locator("h1").inner_text() == "客户终身价值（CLV）"
    assert page.locator("#clv-empty").is_visible()
    assert page.locator("#analytics-tabs [data-tab=clv]").get_attribute("class") == "button primary"

    page.select_option("#clv-fit-form select[name=model]", "bgnbd")
    page.click("#clv-fit-now")
    page.wait_for_url("**/console/analytics/clv?done=fitted")
    assert page.locator("#clv-flash").inner_text() == "已完成拟合，并更新了所有客户的终身价值。"
    assert page.locator("[data-testid=clv-model]").inner_text() == "BG/NBD"
    assert page.locator("[data-testid=clv-params]").inner_text().startswith("r = ")
    assert page.locator("[data-testid=clv-spend-params]").inner_text().startswith("p = ")
    scored = page.locator("[data-testid=clv-scored]").inner_text()
    assert scored.startswith("您可查看的已评分客户：")
    page.locator("#clv-value-chart canvas").first.wait_for(state="visible")
    page.locator("#clv-alive-chart canvas").first.wait_for(state="visible")
    rows = page.locator("#table-top_customers tbody tr").count()
    assert rows == 20
    assert page.locator("#table-fits tbody tr").count() == 2
    screenshot(page, "analytics-clv")

    with page.expect_download() as download:
        page.click("[data-table=value_distribution] [data-export=csv]")
    assert download.value.suggested_filename.startswith("value_distribution")
