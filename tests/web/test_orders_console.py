"""The console's orders pages through the TestClient, on both engines: who may open
them, the list and its filters, the order page, and shipping, delivery and
cancelling (happy, denied and bad input) — scope and masking as in the operator API."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.settings import Settings, install
from siyu.models.order import Fulfilment, OrderSource, OrderStatus
from siyu.models.payment import (
    NotificationOutcome,
    PaymentProvider,
    PaymentStatus,
    RefundStatus,
)
from siyu.models.staff import AuditLog, Role
from siyu.web import i18n
from siyu.web.console import orders_pages
from tests.customers.test_customer_api_helpers import cheap_password_hashing  # noqa: F401
from tests.factories import make_staff
from tests.web.orders_console_helpers import (
    World,
    audit_rows,
    make_world,
    shown_orders,
    sign_in_as,
    status_of,
    transition_count,
)

pytestmark = pytest.mark.usefixtures("frozen_clock", "cheap_password_hashing")


@pytest.fixture
def settings(test_settings: Settings) -> Iterator[Settings]:
    """The test settings, installed for services that read ``settings.current()``."""
    install(test_settings)
    yield test_settings
    install(None)


@pytest.fixture
def client(api: TestClient) -> TestClient:
    return api


@pytest.fixture
def world(session: Session, settings: Settings) -> World:
    return make_world(session, settings)


# --- who may open what -------------------------------------------------------------


def test_anonymous_is_sent_to_login_and_changes_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    for path in [
        "/console/orders",
        f"/console/orders/{world.paid.public_id}",
        "/console/orders/refunds",
        "/console/orders/payments",
    ]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login"), path
    transitions = transition_count(session)
    response = client.post(
        f"/console/orders/{world.paid.public_id}/ship",
        data={"carrier": "SF", "tracking_number": "SF1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    assert status_of(session, world.paid) == OrderStatus.PAID
    assert transition_count(session) == transitions


def test_staff_without_orders_read_get_the_403_page(client: TestClient, world: World) -> None:
    sign_in_as(client, world.integration)
    for path in [
        "/console/orders",
        f"/console/orders/{world.paid.public_id}",
        "/console/orders/refunds",
        "/console/orders/payments",
    ]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "没有权限" in response.text, path


def test_reader_without_refund_permission_may_not_see_flagged_payments(
    client: TestClient, world: World
) -> None:
    sign_in_as(client, world.analyst)
    assert client.get("/console/orders/payments").status_code == 403
    listing = client.get("/console/orders")
    assert listing.status_code == 200
    assert 'href="/console/orders/payments"' not in listing.text


# --- list -------------------------------------------------------------------------


def test_list_shows_orders_with_chinese_statuses_and_yuan(client: TestClient, world: World) -> None:
    sign_in_as(client, world.operator)
    page = client.get("/console/orders")
    assert page.status_code == 200
    assert shown_orders(page.text) == [
        world.pickup.public_id,
        world.pending.public_id,
        world.paid.public_id,
    ]
    assert '<span class="badge order-paid" data-order-status="paid">已付款</span>' in page.text
    assert "待付款" in page.text
    # 2 × 129 + 59 = 317 yuan: free shipping above 99.
    assert "¥317.00" in page.text
    assert "导购小王" in page.text
    # Operators may open the customer behind each order.
    assert f'href="/console/customers/{world.paid.customer_id}"' in page.text
    english = client.get("/console/orders", params={"lang": "en"})
    assert '<span class="badge order-paid" data-order-status="paid">Paid</span>' in english.text
    assert "Awaiting payment" in english.text


def test_list_filters(client: TestClient, session: Session, world: World) -> None:
    sign_in_as(client, world.operator)

    def shown(**params: str) -> list[str]:
        response = client.get("/console/orders", params=params)
        assert response.status_code == 200
        return shown_orders(response.text)

    assert shown(status="pending_payment") == [world.pending.public_id]
    assert shown(q=world.paid.public_id) == [world.paid.public_id]
    assert shown(q="no-such-order") == []
    assert shown(source="store") == []
    assert len(shown(source="mall")) == 3
    assert len(shown(store_id=str(world.shelf.store.id))) == 3
    assert shown(store_id=str(world.shelf.warehouse.id)) == []
    # The frozen clock says 2026-11-22 10:00 in Shanghai.
    assert len(shown(date_from="2026-11-22", date_to="2026-11-22")) == 3
    assert shown(date_from="2026-11-23") == []
    assert shown(date_to="2026-11-21") == []
    bad = client.get("/console/orders", params={"date_from": "22/11/2026"})
    assert bad.status_code == 200
    assert "日期格式不正确" in bad.text
    assert len(shown_orders(bad.text)) == 3


def test_list_pages_on_with_a_keyset_cursor(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders_pages, "PAGE_SIZE", 2)
    sign_in_as(client, world.operator)
    first = client.get("/console/orders", params={"source": "mall"})
    assert shown_orders(first.text) == [world.pickup.public_id, world.pending.public_id]
    more = re.search(r'id="orders-more" href="([^"]+)"', first.text)
    assert more is not None
    link = more.group(1).replace("&amp;", "&")
    assert "source=mall" in link
    second = client.get(link)
    assert shown_orders(second.text) == [world.paid.public_id]
    assert 'id="orders-more"' not in second.text


def test_a_guide_lists_and_opens_only_their_orders(client: TestClient, world: World) -> None:
    sign_in_as(client, world.guide)
    listing = client.get("/console/orders")
    assert sorted(shown_orders(listing.text)) == sorted(
        [world.paid.public_id, world.pickup.public_id]
    )
    assert client.get(f"/console/orders/{world.pending.public_id}").status_code == 404
    detail = client.get(f"/console/orders/{world.paid.public_id}")
    assert detail.status_code == 200
    # A guide reads orders but does not ship or refund them.
    assert 'id="ship-form"' not in detail.text
    assert 'id="refund-form"' not in detail.text


# --- order page ---------------------------------------------------------------------


def test_order_page_shows_header_lines_breakdown_and_history(
    client: TestClient, world: World
) -> None:
    sign_in_as(client, world.operator)
    page = client.get(f"/console/orders/{world.paid.public_id}")
    assert page.status_code == 200
    text = page.text
    assert f'<a href="/console/customers/{world.customer_id}" id="order-customer">' in text
    assert '<td id="order-guide">导购小王</td>' in text
    assert '<td id="order-store">静安店</td>' in text
    rows = text.split('<tr data-line-no="')[1:]
    assert len(rows) == 2
    payables = []
    for row in rows:
        row = row.split("</tr>")[0]
        steps = [
            int(amount) for amount in re.findall(r'data-step="[^"]+" data-amount="(-?\d+)"', row)
        ]
        payable = int(re.search(r'data-testid="line-payable" data-amount="(-?\d+)"', row).group(1))  # type: ignore[union-attr]
        assert steps, row
        assert sum(steps) == payable
        payables.append(payable)
    assert payables == [25800, 5900]
    assert '<td class="number" id="order-total"><strong>¥317.00</strong></td>' in text
    assert 'data-to-status="paid"' in text
    assert "沙箱支付" in text
    # Actions for a paid delivery order: ship and refund; no cancel, no delivery yet.
    assert 'id="ship-form"' in text
    assert 'id="refund-form"' in text
    assert 'id="cancel-form"' not in text
    assert 'id="deliver-form"' not in text


def test_address_is_masked_without_customers_pii(client: TestClient, world: World) -> None:
    sign_in_as(client, world.operator)
    masked = client.get(f"/console/orders/{world.paid.public_id}").text
    assert '<span data-testid="address-recipient">张*</span>' in masked
    assert "138****5678" in masked
    assert "13812345678" not in masked
    assert "漕溪北路" not in masked
    assert 'id="address-masked-note"' in masked
    sign_in_as(client, world.admin)
    full = client.get(f"/console/orders/{world.paid.public_id}").text
    assert "13812345678" in full
    assert "漕溪北路 1 号" in full
    assert 'id="address-masked-note"' not in full


def test_unknown_order_is_a_404_page(client: TestClient, world: World) -> None:
    sign_in_as(client, world.operator)
    response = client.get("/console/orders/od-nope")
    assert response.status_code == 404
    assert '<p class="error-message" role="alert">找不到该订单</p>' in response.text


def test_orders_outside_the_callers_scope_are_not_found(
    client: TestClient, session: Session, world: World
) -> None:
    elsewhere = make_staff(
        session,
        username="manager-elsewhere",
        roles=[Role.STORE_MANAGER],
        store_id=world.shelf.warehouse.id,
    )
    token = sign_in_as(client, elsewhere)
    assert shown_orders(client.get("/console/orders").text) == []
    assert client.get(f"/console/orders/{world.pending.public_id}").status_code == 404
    response = client.post(
        f"/console/orders/{world.pending.public_id}/cancel",
        data={"csrf_token": token, "reason": "x"},
    )
    assert response.status_code == 404
    assert "找不到该订单" in response.text
    assert status_of(session, world.pending) == OrderStatus.PENDING_PAYMENT
    assert audit_rows(session, "order.cancel") == []


# --- ship / deliver / cancel ---------------------------------------------------------


def test_operator_ships_an_order(client: TestClient, session: Session, world: World) -> None:
    token = sign_in_as(client, world.operator)
    response = client.post(
        f"/console/orders/{world.paid.public_id}/ship",
        data={"csrf_token": token, "carrier": "顺丰", "tracking_number": "SF123"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/orders/{world.paid.public_id}?done=shipped"
    assert status_of(session, world.paid) == OrderStatus.SHIPPED
    [entry] = audit_rows(session, "order.ship")
    assert entry.target_id == world.paid.public_id
    assert entry.detail == {"carrier": "顺丰", "tracking_number": "SF123"}
    page = client.get(response.headers["location"])
    assert "顺丰 <code>SF123</code>" in page.text
    assert 'data-order-status="shipped">已发货' in page.text
    assert 'id="deliver-form"' in page.text


def test_ship_without_tracking_number_shows_the_error_and_changes_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.operator)
    transitions = transition_count(session)
    response = client.post(
        f"/console/orders/{world.paid.public_id}/ship",
        data={"csrf_token": token, "carrier": "顺丰", "tracking_number": "  "},
    )
    assert response.status_code == 422
    assert '<p class="field-error" id="ship-error">请填写快递公司和快递单号</p>' in response.text
    assert 'value="顺丰"' in response.text
    assert status_of(session, world.paid) == OrderStatus.PAID
    assert transition_count(session) == transitions
    assert audit_rows(session, "order.ship") == []


def test_staff_without_orders_manage_may_not_ship_deliver_or_cancel(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.analyst)
    transitions = transition_count(session)
    for order, action, data in [
        (world.paid, "ship", {"carrier": "SF", "tracking_number": "SF1"}),
        (world.pickup, "deliver", {}),
        (world.pending, "cancel", {"reason": "x"}),
    ]:
        response = client.post(
            f"/console/orders/{order.public_id}/{action}", data={"csrf_token": token, **data}
        )
        assert response.status_code == 403, action
        assert "没有权限" in response.text
    assert status_of(session, world.paid) == OrderStatus.PAID
    assert status_of(session, world.pickup) == OrderStatus.PAID
    assert status_of(session, world.pending) == OrderStatus.PENDING_PAYMENT
    assert transition_count(session) == transitions
    assert (
        session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action.like("order.%"))
        )
        == 0
    )


def test_a_write_without_the_csrf_token_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    sign_in_as(client, world.operator)
    response = client.post(
        f"/console/orders/{world.paid.public_id}/ship",
        data={"carrier": "SF", "tracking_number": "SF1"},
    )
    assert response.status_code == 403
    assert status_of(session, world.paid) == OrderStatus.PAID


def test_pickup_order_is_handed_over_and_completes(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.operator)
    page = client.get(f"/console/orders/{world.pickup.public_id}")
    assert "确认已自提" in page.text
    assert 'id="ship-form"' not in page.text
    response = client.post(
        f"/console/orders/{world.pickup.public_id}/deliver",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert status_of(session, world.pickup) == OrderStatus.COMPLETED
    assert [entry.target_id for entry in audit_rows(session, "order.deliver")] == [
        world.pickup.public_id
    ]


def test_cancel_pending_order_and_refuse_cancelling_a_paid_one(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.operator)
    refused = client.post(
        f"/console/orders/{world.paid.public_id}/cancel",
        data={"csrf_token": token, "reason": "changed mind"},
    )
    assert refused.status_code == 409
    assert "订单当前状态（已付款）不允许此操作" in refused.text
    assert status_of(session, world.paid) == OrderStatus.PAID
    assert audit_rows(session, "order.cancel") == []
    done = client.post(
        f"/console/orders/{world.pending.public_id}/cancel",
        data={"csrf_token": token, "reason": "客户电话取消"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert status_of(session, world.pending) == OrderStatus.CANCELLED
    [entry] = audit_rows(session, "order.cancel")
    assert entry.detail == {"reason": "客户电话取消"}


def test_every_status_source_and_provider_has_its_words_in_both_languages() -> None:
    built = (
        [f"orders.status.{value}" for value in OrderStatus]
        + [f"orders.source.{value}" for value in OrderSource]
        + [f"orders.fulfilment.{value}" for value in Fulfilment]
        + [f"orders.provider.{value}" for value in PaymentProvider]
        + [f"orders.payment_status.{value}" for value in PaymentStatus]
        + [f"orders.refunds.status.{value}" for value in [*RefundStatus, "all"]]
        + [f"orders.payments.outcome.{value}" for value in NotificationOutcome]
        + [f"orders.payments.kind.{value}" for value in ("payment", "refund")]
        + list(orders_pages.DONE_MESSAGES.values())
    )
    for language in i18n.LANGUAGES:
        catalog = i18n.catalog(language)
        assert [key for key in built if key not in catalog] == [], language
