"""The rule builder in a real browser on the rule playground (规则试算): the live
count and readable text follow each edit, against a warehouse built by the real
exporter; nested not, an attribute condition, and a bad window's error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.e2e.test_console_browser import screenshot
from tests.factories import make_staff
from tests.warehouse.factories import make_customer, make_event

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "rules-admin", "rules-admin-password"


@dataclass(frozen=True)
class Site:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    box = sandbox(tmp_path_factory, "rules")
    now = clock.now()
    with transaction(box.factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        cities = ["上海", "上海", "北京"]
        people = [make_customer(session, at=now - timedelta(days=30), city=c) for c in cities]
        # Three looks, one look, none.
        for days in (1, 2, 3):
            make_event(session, people[0], occurred_at=now - timedelta(days=days))
        make_event(session, people[1], occurred_at=now - timedelta(days=1))
    export.sync(box.engine, Warehouse.from_settings(box.settings), now=clock.now())
    with serving(box) as base_url:
        yield Site(base_url)


def hidden_rule(page: Any) -> Any:
    return json.loads(page.locator("[data-rule-input]").input_value())


def test_build_a_rule_and_watch_the_count(page: Any, site: Site) -> None:
    page.set_default_timeout(8000)
    sign_in_to_console(page, site.base_url, ADMIN, PASSWORD)
    page.goto(site.url("/console/audiences/rules/try"))
    assert page.locator("h1").inner_text() == "规则试算"
    count = page.locator("[data-testid=rule-count]")
    text = page.locator("[data-testid=rule-text]")
    # The example: the lipstick lookers. No category 口红 here, so nobody.
    expect(text).to_have_text("近 7 天 浏览商品(类目 = 口红) ≥ 3 次 且 近 7 天 没有 付款订单")
    expect(count).to_have_text("0")

    # Drop the category filter: the customer with three looks.
    page.locator(".rule-remove-where").click()
    expect(text).to_have_text("近 7 天 浏览商品 ≥ 3 次 且 近 7 天 没有 付款订单")
    expect(count).to_have_text("1")

    # At least once: both lookers.
    page.locator(".rule-count-value").first.fill("1")
    expect(count).to_have_text("2")
    expect(text).to_have_text("近 7 天 有 浏览商品 且 近 7 天 没有 付款订单")
    expect(page.locator("[data-testid=rule-sample] tr")).to_have_count(2)

    # And in 北京: add an attribute condition.
    page.locator(".rule-root > .rule-group-actions .rule-add-condition").click()
    condition = page.locator(".rule-root > .rule-children > .rule-row").nth(2)
    condition.locator(".rule-kind").select_option("attribute")
    condition.locator(".rule-field").select_option("city")
    condition.locator(".rule-value").fill("北京")
    expect(count).to_have_text("0")
    expect(text).to_have_text("近 7 天 有 浏览商品 且 近 7 天 没有 付款订单 且 城市 = 北京")

    # Exclude 北京 instead.
    condition.locator(".rule-negate").check()
    expect(count).to_have_text("2")
    expect(text).to_have_text("近 7 天 有 浏览商品 且 近 7 天 没有 付款订单 且 非(城市 = 北京)")
    assert hidden_rule(page) == {
        "all": [
            {
                "event": "product_view",
                "where": [],
                "count": {"op": ">=", "value": 1},
                "window": {"days": 7},
            },
            {"event": "order", "count": {"op": "=", "value": 0}, "window": {"days": 7}},
            {"not": {"op": "=", "attribute": "city", "value": "北京"}},
        ]
    }
    screenshot(page, "audiences-rule-builder")

    # A window of 0 days is refused with its path; the count is not shown.
    page.locator(".rule-window-days").first.fill("0")
    expect(page.locator("[data-testid=rule-error]")).to_have_text(
        "all[0].window.days: a window must be at least 1 day"
    )
    expect(count).to_have_text("—")
