"""The warehouse page in a real browser: an admin sees the tables' freshness, presses
"sync now", and the exported rows show up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from siyu.core.db import transaction
from siyu.models.staff import Role
from tests.e2e.sites import sandbox, serving, sign_in_to_console
from tests.factories import make_staff
from tests.warehouse.conftest import T0
from tests.warehouse.factories import make_customer, make_event

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "warehouse-admin", "warehouse-admin-password"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    box = sandbox(tmp_path_factory, "warehouse")
    with transaction(box.factory) as session:
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
        customer = make_customer(session, at=T0)
        for _ in range(4):
            make_event(session, customer, occurred_at=T0, received_at=T0)
    with serving(box) as url:
        yield url


def test_admin_syncs_the_warehouse_from_the_console(page: Any, base_url: str) -> None:
    sign_in_to_console(page, base_url, ADMIN, PASSWORD)
    page.click('a[href="/console/warehouse"]')
    events = page.locator('#warehouse-tables tr[data-table="events"]')
    expect(events.locator("td").nth(1)).to_have_text("0")
    expect(page.locator("#warehouse-last-sync")).to_contain_text("尚未同步")
    page.click("#warehouse-sync")
    expect(page.locator("#warehouse-flash")).to_have_text("同步完成：导出 5 行")
    expect(events.locator("td").nth(1)).to_have_text("4")
    expect(events.locator("td").nth(2)).to_have_text("2026-11-20 08:00:00 UTC")
    expect(page.locator("#warehouse-last-sync")).not_to_contain_text("尚未同步")
