"""Customer pages in a real browser: search by phone, the profile masked for an
operator and in full for an admin, "load more" on the timeline, and the sidebar card.

Runs its own live server (same recipe as conftest's) with the customer routes
installed, so it works whether or not the app already includes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from siyu.app import create_app
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.customers.identify import IdentityInput
from siyu.models.tracking import TrackedEvent
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from tests.customers.factories import make_customer
from tests.e2e.conftest import LiveServer
from tests.e2e.test_console_browser import screenshot, sign_in
from tests.live import serve

pytestmark = pytest.mark.e2e

SECRET = "e2e-customers-" + "s" * 40
PASSWORD = "customers-password-1"
EVENTS = 25


@pytest.fixture(scope="module")
def customer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("e2e-customers")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        for username, role in [("admin", "admin"), ("operator", "operator"), ("guide", "guide")]:
            staff = staff_service.create_staff(
                session,
                command_line_principal(),
                username=username,
                password=PASSWORD,
                roles=[role],
            )
            if role == "guide":
                guide_id = staff.id
        customer = make_customer(
            session,
            PiiCipher(SECRET),
            identities=[
                IdentityInput("phone", "13812345678"),
                IdentityInput("wecom_external_userid", "wm-e2e", "corp-e2e"),
            ],
            guide_id=guide_id,
            name="张三丰",
        )
        start = clock.now() - timedelta(days=2)
        for index in range(EVENTS):
            moment = start + timedelta(minutes=index)
            session.add(
                TrackedEvent(
                    event_id=f"e2e-{index}",
                    customer_id=customer.id,
                    type="product_view",
                    occurred_at=moment,
                    received_at=moment,
                    touchpoint="mp",
                    context={},
                    properties={"index": index},
                )
            )
    engine.dispose()
    settings = Settings(
        database_url=database_url, data_dir=data_dir, secret_key=SECRET, run_worker=False
    )
    app = create_app(settings, start_worker=False)
    with serve(app) as base_url:
        yield LiveServer(base_url, settings)


def test_operator_finds_a_customer_by_phone_and_sees_it_masked(
    page: Any, customer_server: LiveServer
) -> None:
    sign_in(page, customer_server, "operator", PASSWORD)
    page.wait_for_url(customer_server.url("/console"))
    page.goto(customer_server.url("/console/customers"))
    page.fill("[data-testid=customer-search]", "138 1234 5678")
    page.click("#customer-filters button[type=submit]")
    page.wait_for_url("**/console/customers?q=*")
    assert page.locator("#customer-table tbody tr").count() == 1
    assert page.locator("[data-testid=customer-phone]").inner_text() == "138****5678"
    screenshot(page, "customers")
    page.click("[data-testid=customer-name]")
    page.wait_for_url("**/console/customers/*")
    assert page.locator("[data-testid=identity-phone]").inner_text() == "138****5678"
    assert page.locator("[data-testid=profile-name]").inner_text() == "张**"
    assert page.locator("#pii-masked-note").count() == 1
    # The timeline shows 20 rows; "load more" brings the remaining ones in place.
    assert page.locator("#timeline-table [data-event-id]").count() == 20
    page.click("#timeline-more")
    page.locator("#timeline-table [data-event-id]").nth(EVENTS - 1).wait_for()
    assert page.locator("#timeline-table [data-event-id]").count() == EVENTS
    assert page.locator("#timeline-more").count() == 0
    screenshot(page, "customer-profile-operator")


def test_admin_sees_the_phone_in_full(page: Any, customer_server: LiveServer) -> None:
    sign_in(page, customer_server, "admin", PASSWORD)
    page.wait_for_url(customer_server.url("/console"))
    page.goto(customer_server.url("/console/customers?q=13812345678"))
    page.click("[data-testid=customer-name]")
    page.wait_for_url("**/console/customers/*")
    assert page.locator("[data-testid=identity-phone]").inner_text() == "13812345678"
    assert page.locator("[data-testid=profile-name]").inner_text() == "张三丰"
    assert page.locator("#export-link").count() == 1


def test_the_sidebar_card(page: Any, customer_server: LiveServer) -> None:
    sign_in(page, customer_server, "guide", PASSWORD)
    page.wait_for_url(customer_server.url("/console"))
    page.set_viewport_size({"width": 360, "height": 700})
    page.goto(customer_server.url("/console/sidebar?external_userid=wm-e2e&corp_id=corp-e2e"))
    assert page.locator("[data-testid=sidebar-name]").inner_text().startswith("张**")
    assert page.locator("[data-testid=sidebar-phone]").inner_text() == "138****5678"
    assert page.locator("#sidebar-events tr").count() == 10
    # No horizontal scrolling at the sidebar's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "sidebar")
    page.goto(customer_server.url("/console/sidebar?external_userid=wm-unknown"))
    assert page.locator("#sidebar-not-found h1").inner_text() == "私域中暂无此客户"
