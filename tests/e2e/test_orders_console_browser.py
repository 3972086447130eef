"""The console's orders section in a real browser: an operator opens an order that
was placed and paid through the services, refunds one unit, and sees the refund and
the order's status change — before and after the refund job pays the money back.

Runs its own live server (same recipe as conftest's) with the orders pages mounted in
front of the console's "arrives with issue 4" page, so it works whether or not the
lead has wired them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from siyu.app import create_app
from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.jobs import JobRunner
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import NotificationOutcome, Refund, RefundStatus
from siyu.orders import checkout
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from tests.customers.factories import TEST_SECRET_KEY, make_customer
from tests.e2e.conftest import LiveServer
from tests.e2e.test_console_browser import screenshot, sign_in
from tests.live import serve
from tests.orders.factories import make_shelf, order_items, pay, place_order

pytestmark = pytest.mark.e2e

# The sandbox provider of tests/orders/factories signs with the test secret key.
SECRET = TEST_SECRET_KEY
PASSWORD = "orders-password-1"


@pytest.fixture(scope="module")
def orders_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    data_dir = tmp_path_factory.mktemp("e2e-orders")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    settings = Settings(
        database_url=database_url, data_dir=data_dir, secret_key=SECRET, run_worker=False
    )
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        staff_service.create_staff(
            session,
            command_line_principal(),
            username="operator",
            password=PASSWORD,
            roles=["operator"],
            display_name="运营小李",
        )
        shelf = make_shelf(session)
        customer = make_customer(session, PiiCipher(SECRET), name="李四")
        order, _lines = place_order(
            session,
            PiiCipher(SECRET),
            settings,
            customer_id=customer.id,
            items=order_items((shelf.skus[0], 2)),
            attribution=checkout.Attribution(touchpoint="mp", store_id=shelf.store.id),
        )
        assert pay(session, settings, order) == NotificationOutcome.APPLIED
        public_id = order.public_id
    engine.dispose()
    app = create_app(settings, start_worker=False)
    with serve(app, name="siyu-e2e-orders") as base_url:
        yield LiveServer(base_url, settings), public_id


def _status_of(server: LiveServer, public_id: str) -> tuple[str, list[tuple[str, int]]]:
    engine = make_engine(server.settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
            refunds = [
                (refund.status, refund.amount)
                for refund in session.scalars(select(Refund).where(Refund.order_id == order.id))
            ]
            return order.status, refunds
    finally:
        engine.dispose()


def test_operator_refunds_one_unit_of_a_paid_order(
    page: Any, orders_server: tuple[LiveServer, str]
) -> None:
    server, public_id = orders_server
    sign_in(page, server, "operator", PASSWORD)
    page.wait_for_url(server.url("/console"))
    page.goto(server.url("/console/orders"))
    row = page.locator(f'#order-table tr[data-order-id="{public_id}"]')
    assert row.locator("[data-order-status]").inner_text() == "已付款"
    assert row.locator("[data-testid=order-total]").inner_text() == "¥258.00"
    screenshot(page, "orders")
    row.locator(f'a[href="/console/orders/{public_id}"]').click()
    page.wait_for_url(server.url(f"/console/orders/{public_id}"))
    assert page.locator("#order-status [data-order-status]").inner_text() == "已付款"

    page.fill("[data-testid=refund-quantity-1]", "1")
    page.fill("#refund-form input[name=reason]", "一支有划痕")
    page.click("#refund-form button[type=submit]")
    page.wait_for_url(server.url(f"/console/orders/{public_id}?done=refunded"))
    assert "退款已批准" in page.locator("#console-flash").inner_text()
    assert page.locator("#order-status [data-order-status]").inner_text() == "退款中"
    refund_row = page.locator("#order-refunds tr[data-refund-id]")
    assert refund_row.locator("[data-refund-status]").inner_text() == "退款处理中"
    assert refund_row.locator("[data-testid=refund-amount]").inner_text() == "¥129.00"
    assert _status_of(server, public_id) == (
        OrderStatus.REFUNDING,
        [(RefundStatus.PROCESSING, 12900)],
    )

    # The worker pays the money back through the sandbox provider.
    factory = make_session_factory(make_engine(server.settings.database_url))
    assert JobRunner(factory, worker_id="e2e-orders").run_due() >= 1
    page.reload()
    assert page.locator("#order-status [data-order-status]").inner_text() == "部分退款"
    assert refund_row.locator("[data-refund-status]").inner_text() == "退款成功"
    assert page.locator("#order-refunded").inner_text() == "¥129.00"
    assert page.locator('[data-line-no="1"] [data-testid=line-refunded]').inner_text() == (
        "1 · ¥129.00"
    )
    screenshot(page, "order-refunded")
    page.click("#orders-subnav a[href='/console/orders/refunds']")
    page.wait_for_url(server.url("/console/orders/refunds"))
    # The queue opens on refunds awaiting review; this one was approved at once.
    assert page.locator("#no-refunds").count() == 1
    page.click("#refund-status-filter a[href='/console/orders/refunds?status=succeeded']")
    queued = page.locator("#refund-table tr[data-refund-id]")
    assert queued.count() == 1
    assert queued.locator("[data-refund-status]").inner_text() == "退款成功"
    assert queued.locator(f'a[href="/console/orders/{public_id}"]').count() == 1
    assert _status_of(server, public_id) == (
        OrderStatus.PARTIALLY_REFUNDED,
        [(RefundStatus.SUCCEEDED, 12900)],
    )
