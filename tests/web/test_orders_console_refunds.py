"""Refunds in the console through the TestClient, on both engines: the operator's
refund from the order page, the review queue (approve, reject) and flagged payment
notifications — happy, denied and bad-input paths, each asserting nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings, install
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import NotificationOutcome, PaymentNotification, Refund, RefundStatus
from siyu.models.staff import Role
from siyu.orders import refunds
from tests.customers.test_customer_api_helpers import cheap_password_hashing  # noqa: F401
from tests.factories import make_staff
from tests.orders.factories import pay
from tests.web.orders_console_helpers import (
    World,
    audit_rows,
    make_world,
    refund_count,
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


# --- refunds from the order page ---------------------------------------------------


def _refund_form(token: str, quantities: list[str], **fields: str) -> dict[str, object]:
    return {
        "csrf_token": token,
        "line_no": [str(number) for number in range(1, len(quantities) + 1)],
        "quantity": quantities,
        "reason": "破损",
        **fields,
    }


def test_operator_refunds_one_unit_and_it_is_approved_at_once(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.operator)
    response = client.post(
        f"/console/orders/{world.paid.public_id}/refund",
        data=_refund_form(token, ["1", ""], restock="1"),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("?done=refunded")
    refund = session.scalars(select(Refund)).one()
    assert (refund.status, refund.amount, refund.restock) == (RefundStatus.PROCESSING, 12900, True)
    assert refund.reviewed_by == f"staff:{world.operator.username}"
    assert status_of(session, world.paid) == OrderStatus.REFUNDING
    [entry] = audit_rows(session, "refund.create")
    assert entry.detail == {"order": world.paid.public_id, "amount": 12900, "approved": True}
    page = client.get(response.headers["location"])
    assert "退款已批准" in page.text
    assert f'<tr data-refund-id="{refund.public_id}">' in page.text
    assert 'data-refund-status="processing">退款处理中' in page.text
    assert 'data-order-status="refunding">退款中' in page.text
    # One refund at a time: the form is gone while this one is open.
    assert 'id="refund-form"' not in page.text


def test_refund_of_a_smaller_amount_in_yuan(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.operator)
    response = client.post(
        f"/console/orders/{world.paid.public_id}/refund",
        data=_refund_form(token, ["", "1"], amount="¥20.5"),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    refund = session.scalars(select(Refund)).one()
    assert (refund.amount, refund.restock) == (2050, False)


@pytest.mark.parametrize(
    ("quantities", "amount", "reason", "message"),
    [
        (["3", ""], "", "破损", "退款数量超出可退数量：第 1 行最多还能退 2 件"),
        (["", ""], "", "破损", "请填写要退款的商品数量"),
        (["x", ""], "", "破损", "第 1 行的退款数量需为整数"),
        (["1", ""], "129.01", "破损", "退款金额需在 ¥0.01 到 ¥129.00 之间"),
        (["1", ""], "12,3.456", "破损", "请按元填写金额，最多两位小数"),
        (["1", ""], "", " ", "请填写退款原因"),
    ],
)
def test_bad_refund_input_shows_the_error_and_changes_nothing(
    client: TestClient,
    session: Session,
    world: World,
    quantities: list[str],
    amount: str,
    reason: str,
    message: str,
) -> None:
    token = sign_in_as(client, world.operator)
    transitions = transition_count(session)
    response = client.post(
        f"/console/orders/{world.paid.public_id}/refund",
        data=_refund_form(token, quantities, amount=amount, reason=reason),
    )
    assert response.status_code == 422
    assert 'id="refund-error"' in response.text
    assert message in response.text
    assert refund_count(session) == 0
    assert status_of(session, world.paid) == OrderStatus.PAID
    assert transition_count(session) == transitions
    assert audit_rows(session, "refund.create") == []


def test_staff_without_orders_refund_may_not_refund(
    client: TestClient, session: Session, world: World
) -> None:
    for staff in (world.analyst, world.guide):
        token = sign_in_as(client, staff)
        response = client.post(
            f"/console/orders/{world.paid.public_id}/refund", data=_refund_form(token, ["1", ""])
        )
        assert response.status_code == 403
    assert refund_count(session) == 0
    assert status_of(session, world.paid) == OrderStatus.PAID


def test_refunding_an_unpaid_order_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.operator)
    response = client.post(
        f"/console/orders/{world.pending.public_id}/refund", data=_refund_form(token, ["1"])
    )
    assert response.status_code == 409
    assert "该订单当前状态（待付款）不能退款" in response.text
    assert refund_count(session) == 0


# --- the refund queue --------------------------------------------------------------


def _customer_refund(session: Session, order: Order) -> Refund:
    refund = refunds.request_refund(
        session,
        order,
        items=[refunds.RefundItem(2, 1)],
        reason="不想要了",
        requested_by="customer",
    )
    session.flush()
    return refund


def test_queue_lists_requested_refunds_with_review_forms(
    client: TestClient, session: Session, world: World
) -> None:
    refund = _customer_refund(session, world.paid)
    sign_in_as(client, world.operator)
    page = client.get("/console/orders/refunds")
    assert page.status_code == 200
    assert 'id="refund-status-filter"' in page.text
    assert f'<tr data-refund-id="{refund.public_id}">' in page.text
    assert f'id="review-{refund.public_id}"' in page.text
    assert "¥59.00" in page.text
    assert "待审核" in page.text
    rejected_only = client.get("/console/orders/refunds", params={"status": "rejected"})
    assert f'data-refund-id="{refund.public_id}"' not in rejected_only.text
    assert 'id="no-refunds"' in rejected_only.text
    detail = client.get(f"/console/orders/{world.paid.public_id}")
    assert '<a href="/console/orders/refunds" class="review-link">审核</a>' in detail.text
    assert 'id="refund-form"' not in detail.text


def test_reader_sees_the_queue_without_review_forms(
    client: TestClient, session: Session, world: World
) -> None:
    refund = _customer_refund(session, world.paid)
    sign_in_as(client, world.analyst)
    page = client.get("/console/orders/refunds")
    assert f'data-refund-id="{refund.public_id}"' in page.text
    assert f'id="review-{refund.public_id}"' not in page.text


def test_approve_a_requested_refund(client: TestClient, session: Session, world: World) -> None:
    refund = _customer_refund(session, world.paid)
    token = sign_in_as(client, world.operator)
    response = client.post(
        f"/console/orders/refunds/{refund.public_id}/approve",
        data={"csrf_token": token, "restock": "yes", "note": "同意"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(refund)
    assert (refund.status, refund.restock, refund.review_note) == (
        RefundStatus.PROCESSING,
        True,
        "同意",
    )
    assert [entry.target_id for entry in audit_rows(session, "refund.approve")] == [
        refund.public_id
    ]
    page = client.get(response.headers["location"])
    assert f"退款 {refund.public_id} 已批准" in page.text


def test_reject_needs_a_note_then_returns_the_order(
    client: TestClient, session: Session, world: World
) -> None:
    refund = _customer_refund(session, world.paid)
    token = sign_in_as(client, world.operator)
    missing = client.post(
        f"/console/orders/refunds/{refund.public_id}/reject",
        data={"csrf_token": token, "note": "  "},
    )
    assert missing.status_code == 422
    assert '<p class="field-error" id="review-error">驳回退款时请填写原因</p>' in missing.text
    session.refresh(refund)
    assert refund.status == RefundStatus.REQUESTED
    assert audit_rows(session, "refund.reject") == []
    done = client.post(
        f"/console/orders/refunds/{refund.public_id}/reject",
        data={"csrf_token": token, "note": "已使用"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.refresh(refund)
    assert refund.status == RefundStatus.REJECTED
    assert status_of(session, world.paid) == OrderStatus.PAID
    [entry] = audit_rows(session, "refund.reject")
    assert entry.detail == {"note": "已使用"}
    again = client.post(
        f"/console/orders/refunds/{refund.public_id}/approve", data={"csrf_token": token}
    )
    assert again.status_code == 409
    assert "该退款已处理过（当前：已驳回）" in again.text


def test_staff_without_orders_refund_may_not_review(
    client: TestClient, session: Session, world: World
) -> None:
    refund = _customer_refund(session, world.paid)
    token = sign_in_as(client, world.analyst)
    for action in ("approve", "reject"):
        response = client.post(
            f"/console/orders/refunds/{refund.public_id}/{action}",
            data={"csrf_token": token, "note": "x"},
        )
        assert response.status_code == 403
    session.refresh(refund)
    assert refund.status == RefundStatus.REQUESTED
    assert status_of(session, world.paid) == OrderStatus.REFUNDING


def test_refunds_outside_the_callers_scope_are_not_found(
    client: TestClient, session: Session, world: World
) -> None:
    store_manager = make_staff(
        session,
        username="other-store",
        roles=[Role.STORE_MANAGER],
        store_id=world.shelf.warehouse.id,
    )
    refund = _customer_refund(session, world.paid)
    token = sign_in_as(client, store_manager)
    listing = client.get("/console/orders/refunds")
    assert f'data-refund-id="{refund.public_id}"' not in listing.text
    response = client.post(
        f"/console/orders/refunds/{refund.public_id}/approve", data={"csrf_token": token}
    )
    assert response.status_code == 404
    session.refresh(refund)
    assert refund.status == RefundStatus.REQUESTED


# --- flagged payments --------------------------------------------------------------


def test_flagged_payment_notifications_list_and_detail(
    client: TestClient,
    session: Session,
    settings: Settings,
    world: World,
    frozen_clock: FrozenClock,
) -> None:
    frozen_clock.advance(timedelta(minutes=1))
    outcome = pay(session, settings, world.pending, amount=1)
    assert outcome == NotificationOutcome.REJECTED
    flagged = session.scalars(
        select(PaymentNotification).where(PaymentNotification.is_flagged.is_(True))
    ).one()
    sign_in_as(client, world.operator)
    listing = client.get("/console/orders/payments")
    assert listing.status_code == 200
    assert f'<tr data-notification-id="{flagged.id}">' in listing.text
    assert f'<a href="/console/orders/{world.pending.public_id}">' in listing.text
    assert listing.text.count("data-notification-id=") == 1
    detail = client.get(f"/console/orders/payments/{flagged.id}")
    assert detail.status_code == 200
    assert f'id="notification-order">{world.pending.public_id}</a>' in detail.text
    assert 'id="notification-resource"' in detail.text
    assert client.get("/console/orders/payments/999999").status_code == 404


def test_malformed_refund_form_is_a_422_page_and_changes_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as(client, world.operator)
    for data in [
        {"csrf_token": token, "line_no": "first", "quantity": "1", "reason": "x"},
        {"csrf_token": token, "line_no": ["1"] * 51, "quantity": ["1"] * 51, "reason": "x"},
        {"csrf_token": token, "line_no": ["1", "2"], "quantity": ["1"], "reason": "x"},
    ]:
        response = client.post(f"/console/orders/{world.paid.public_id}/refund", data=data)
        assert response.status_code == 422, data
    assert refund_count(session) == 0
    assert status_of(session, world.paid) == OrderStatus.PAID
