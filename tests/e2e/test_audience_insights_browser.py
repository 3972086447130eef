"""The RFM and lifecycle pages in a real browser: computed data from the real exporter
and traits computation, the ECharts heatmap and stage charts, and both settings forms."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from siyu.audiences import config, traits
from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.audiences.traits_data import new_customers, paid_order
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.e2e.test_console_browser import screenshot
from tests.factories import make_staff

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "insights-admin", "insights-admin-password"


@dataclass(frozen=True)
class Site:
    base_url: str
    factory: sessionmaker[Session]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    box = sandbox(tmp_path_factory, "insights")
    factory = box.factory
    now = clock.now()
    with transaction(factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        ids = new_customers(session, 6, at=now - timedelta(days=400))
        for index, customer_id in enumerate(ids[:5]):
            for number in range(index + 1):
                paid_order(session, customer_id, at=now - timedelta(days=40 + 20 * number))
    wh = Warehouse.from_settings(box.settings)
    # Three daily runs: a distribution history, and transitions between them.
    for days_ago in (2, 1, 0):
        moment = now - timedelta(days=days_ago)
        if days_ago == 1:  # the sixth customer buys: aware → purchased, (none) → new
            with transaction(factory) as session:
                paid_order(session, ids[5], at=moment - timedelta(hours=1))
        export.sync(box.engine, wh, now=moment)
        with transaction(factory) as session:
            traits.recompute(session, wh, now=moment)
    with serving(box) as base_url:
        yield Site(base_url, factory)


def test_rfm_and_lifecycle_pages(page: Any, site: Site) -> None:
    page.set_default_timeout(8000)
    sign_in_to_console(page, site.base_url, ADMIN, PASSWORD)
    page.goto(site.url("/console/audiences/rfm"))
    assert page.locator("h1").inner_text() == "RFM 分析"
    counts = {
        row.get_attribute("data-group"): int(row.locator("td.number").first.inner_text())
        for row in page.locator("#rfm-group-table tbody tr").all()
    }
    assert sum(counts.values()) == 6
    assert page.locator("[data-testid=rfm-scored]").inner_text() == "已评分 6 人 · 未购 0 人"
    page.locator("#rfm-heatmap canvas").first.wait_for(state="visible")
    screenshot(page, "audiences-rfm")

    # Thresholds that do not rise: refused with the reason, nothing saved.
    page.select_option("#rfm-form select[name=method]", "thresholds")
    page.fill("#rfm-form input[name=recency_days]", "30, 20, 90, 180")
    page.click("#rfm-save")
    assert "recency_days" in page.locator("#rfm-error").inner_text()
    with transaction(site.factory) as session:
        assert config.load(session).rfm.method.value == "quantile"
    page.fill("#rfm-form input[name=recency_days]", "15, 45, 90, 180")
    page.click("#rfm-save")
    page.wait_for_selector("#rfm-flash")
    assert page.input_value("#rfm-form input[name=recency_days]") == "15, 45, 90, 180"
    with transaction(site.factory) as session:
        saved = config.load(session).rfm
        assert (saved.method.value, saved.thresholds.recency_days) == (
            "thresholds",
            [15, 45, 90, 180],
        )

    page.goto(site.url("/console/audiences/lifecycle"))
    assert page.locator("h1").inner_text() == "生命周期"
    assert page.locator("[data-testid=stage-aipl-purchased] .stat-value").inner_text() == "3"
    assert page.locator("[data-testid=stage-aipl-loyal] .stat-value").inner_text() == "3"
    assert page.locator("[data-testid=stage-aipl-aware] .stat-value").inner_text() == "0"
    assert page.locator("[data-testid=stage-ops-new] .stat-value").inner_text() == "1"
    changes = page.locator("#transition-table tbody tr").all_inner_texts()
    assert len(changes) == 2
    assert any("认知 → 购买" in text for text in changes)
    assert any("— → 新客" in text for text in changes)
    page.locator("#lifecycle-chart-aipl canvas").first.wait_for(state="visible")
    page.locator("#lifecycle-chart-ops canvas").first.wait_for(state="visible")
    screenshot(page, "audiences-lifecycle")
    page.fill("#lifecycle-form input[name=new_days]", "120")  # more than active_days: refused
    page.click("#lifecycle-save")
    page.wait_for_selector("#lifecycle-error")
    page.fill("#lifecycle-form input[name=new_days]", "14")
    page.fill("#lifecycle-form input[name=churn_days]", "365")
    page.click("#lifecycle-save")
    page.wait_for_selector("#lifecycle-flash")
    with transaction(site.factory) as session:
        windows = config.load(session).operational
        assert (windows.new_days, windows.active_days, windows.churn_days) == (14, 90, 365)
