"""Segments in a real browser against a warehouse built by the real exporter: a new
user builds a segment in the console, changes the rule and watches the count move,
saves it, and finds its members on the detail page; then the tags tab."""

from __future__ import annotations

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

NEWCOMER, PASSWORD = "segment-newcomer", "segment-newcomer-password"


@dataclass(frozen=True)
class Site:
    base_url: str
    lookers: tuple[int, int]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    box = sandbox(tmp_path_factory, "segments")
    now = clock.now()
    with transaction(box.factory) as session:
        # A new member of the operations team: an operator, not an admin.
        make_staff(session, username=NEWCOMER, password=PASSWORD, roles=[Role.OPERATOR])
        shanghai = make_customer(session, at=now - timedelta(days=30), city="上海")
        beijing = make_customer(session, at=now - timedelta(days=30), city="北京")
        make_customer(session, at=now - timedelta(days=30), city="上海")
        for days in (1, 2, 3):
            make_event(session, shanghai, occurred_at=now - timedelta(days=days))
        make_event(session, beijing, occurred_at=now - timedelta(days=1))
        lookers = (shanghai.id, beijing.id)
    export.sync(box.engine, Warehouse.from_settings(box.settings), now=clock.now())
    with serving(box) as base_url:
        yield Site(base_url, lookers)


def test_a_new_user_builds_a_segment_and_sees_its_count_move(page: Any, site: Site) -> None:
    page.set_default_timeout(8000)
    sign_in_to_console(page, site.base_url, NEWCOMER, PASSWORD)

    page.click("nav >> text=人群")
    page.wait_for_url(site.url("/console/audiences"))
    expect(page.locator("#segments-empty")).to_be_visible()
    page.click("#new-segment")
    page.fill("input[name=name]", "近期浏览的顾客")
    count = page.locator("#segment-form [data-testid=rule-count]")
    # The form starts from "paid an order in the last 30 days": nobody here.
    expect(count).to_have_text("0")

    # Looked at a product instead: both lookers.
    page.locator("#segment-form .rule-event-type").first.select_option("product_view")
    expect(count).to_have_text("2")

    # And in 上海: add an attribute condition.
    page.locator("#segment-form .rule-root > .rule-group-actions .rule-add-condition").click()
    condition = page.locator("#segment-form .rule-root > .rule-children > .rule-row").nth(1)
    condition.locator(".rule-kind").select_option("attribute")
    condition.locator(".rule-field").select_option("city")
    condition.locator(".rule-value").fill("上海")
    expect(count).to_have_text("1")
    expect(page.locator("#segment-form [data-testid=rule-text]")).to_contain_text("城市 = 上海")
    screenshot(page, "audiences-segment-form")

    page.click("#save-segment")
    page.wait_for_url("**/console/audiences/segments/*")
    expect(page.locator("#audiences-flash")).to_have_text("人群包已创建。")
    expect(page.locator("#segment-member-count")).to_have_text("1")
    shanghai_looker = site.lookers[0]
    expect(page.locator(f"#segment-members tr[data-customer='{shanghai_looker}']")).to_be_visible()
    expect(page.locator("#segment-members tbody tr")).to_have_count(1)
    expect(page.locator("#segment-size-table tbody tr")).to_have_count(1)
    expect(page.locator("#segment-rule-text")).to_contain_text("城市 = 上海")
    screenshot(page, "audiences-segment-detail")

    # Back on the list, the segment shows its size; the tags tab is one click away.
    page.click("#audience-tabs [data-tab=segments]")
    expect(page.locator("#segment-table [data-testid=segment-size]")).to_have_text(["1"])
    page.click("#audience-tabs [data-tab=tags]")
    page.wait_for_url(site.url("/console/audiences/tags"))
    page.fill("#new-group-form input[name=name]", "肤质")
    page.check("#new-group-form input[name=is_exclusive]")
    page.click("#new-group-form button[type=submit]")
    expect(page.locator("#tags-flash")).to_have_text("标签组已创建。")
    expect(page.locator("details[data-group='肤质'] summary")).to_contain_text("单选")
