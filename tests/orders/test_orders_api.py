"""The operators' orders API: authorization matrix, scope, fulfilment and refunds."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.job import Job
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import Refund, RefundStatus
from siyu.models.staff import AuditLog, Role
from siyu.orders import checkout
from tests.customers.factories import make_customer
from tests.factories import make_staff, make_token
from tests.orders.factories import make_shelf, order_items, pay, place_order


def _bearer(session: Session, *roles: Role, store_id: int | None = None) -> dict[str, str]:
    staff = make_staff(session, roles=list(roles), store_id=store_id)
    return {"Authorization": f"Bearer {make_token(session, staff)}"}


def _paid(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    *,
    quantity: int = 2,
    attribution: checkout.Attribution | None = None,
) -> Order:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    order, _ = place_order(
        session,
        cipher,
        settings,
        customer_id=customer.id,
        items=order_items((shelf.skus[0], quantity)),
        attribution=attribution,
    )
    pay(session, settings, order)
    session.refresh(order)
    return order


@pytest.mark.parametrize(
    ("roles", "status"),
    [((), 401), ((Role.INTEGRATION,), 403), ((Role.ANALYST,), 200), ((Role.OPERATOR,), 200)],
)
def test_reading_orders_matrix(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    roles: tuple[Role, ...],
    status: int,
) -> None:
    order = _paid(session, cipher, settings)
    headers = _bearer(session, *roles) if roles else {}
    assert api.get("/api/v1/orders", headers=headers).status_code == status
    detail = api.get(f"/api/v1/orders/{order.public_id}", headers=headers)
    assert detail.status_code == status
    if status == 200:
        body = detail.json()
        assert body["lines"][0]["price_breakdown"][0]["step"] == "base_price"
        # Without customers.pii the address is masked.
        assert body["address"]["phone"] == "138****5678"


@pytest.mark.parametrize(
    ("roles", "status"),
    [((Role.ANALYST,), 403), ((Role.GUIDE,), 403), ((Role.OPERATOR,), 200)],
)
def test_shipping_matrix_and_nothing_changes_when_denied(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    roles: tuple[Role, ...],
    status: int,
) -> None:
    order = _paid(session, cipher, settings)
    response = api.post(
        f"/api/v1/orders/{order.public_id}/ship",
        json={"carrier": "顺丰", "tracking_number": "SF100"},
        headers=_bearer(session, *roles),
    )
    assert response.status_code == status
    session.refresh(order)
    expected = OrderStatus.SHIPPED if status == 200 else OrderStatus.PAID
    assert order.status == expected
    audited = session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "order.ship")
    )
    assert audited == (1 if status == 200 else 0)


def test_store_manager_sees_only_their_store(
    api: TestClient, session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    ours = _paid(session, cipher, settings)
    theirs = _paid(session, cipher, settings)
    ours.store_id = 101
    theirs.store_id = 202
    session.flush()
    headers = _bearer(session, Role.STORE_MANAGER, store_id=101)
    listed = [
        item["public_id"] for item in api.get("/api/v1/orders", headers=headers).json()["items"]
    ]
    assert listed == [ours.public_id]
    assert api.get(f"/api/v1/orders/{theirs.public_id}", headers=headers).status_code == 404
    response = api.post(
        f"/api/v1/orders/{theirs.public_id}/refunds",
        json={"reason": "x"},
        headers=headers,
    )
    assert response.status_code == 404
    assert session.scalar(select(func.count()).select_from(Refund)) == 0


def test_operator_refund_is_approved_and_queued(
    api: TestClient, session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    order = _paid(session, cipher, settings, quantity=3)
    headers = _bearer(session, Role.OPERATOR)
    response = api.post(
        f"/api/v1/orders/{order.public_id}/refunds",
        json={"items": [{"line_no": 1, "quantity": 1}], "reason": "少发一件", "restock": True},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == RefundStatus.PROCESSING
    assert body["lines"] == [{"line_no": 1, "quantity": 1, "amount": order.total_amount // 3}]
    assert (
        session.scalar(select(func.count()).select_from(Job).where(Job.task == "refund.submit"))
        == 1
    )


def test_customer_refund_request_waits_for_review(
    api: TestClient, session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    order = _paid(session, cipher, settings)
    from siyu.orders import refunds

    refund = refunds.request_refund(
        session, order, items=None, reason="不喜欢", requested_by="customer"
    )
    headers = _bearer(session, Role.OPERATOR)
    queue = api.get("/api/v1/refunds?status=requested", headers=headers).json()["items"]
    assert [item["public_id"] for item in queue] == [refund.public_id]
    analyst = _bearer(session, Role.ANALYST)
    denied = api.post(f"/api/v1/refunds/{refund.public_id}/approve", json={}, headers=analyst)
    assert denied.status_code == 403
    rejected = api.post(
        f"/api/v1/refunds/{refund.public_id}/reject", json={"note": ""}, headers=headers
    )
    assert (rejected.status_code, rejected.json()["code"]) == (422, "refund.invalid")
    approved = api.post(
        f"/api/v1/refunds/{refund.public_id}/approve", json={"note": "同意"}, headers=headers
    )
    assert approved.json()["status"] == RefundStatus.PROCESSING
    twice = api.post(f"/api/v1/refunds/{refund.public_id}/approve", json={}, headers=headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "refund.invalid_transition")


def test_cancel_only_while_unpaid(
    api: TestClient, session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    order = _paid(session, cipher, settings)
    response = api.post(
        f"/api/v1/orders/{order.public_id}/cancel",
        json={"reason": "缺货"},
        headers=_bearer(session, Role.OPERATOR),
    )
    assert (response.status_code, response.json()["code"]) == (409, "order.invalid_transition")
    session.refresh(order)
    assert order.status == OrderStatus.PAID


def test_staff_order_for_a_customer_in_store(
    api: TestClient, session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, cipher)
    staff = make_staff(session, roles=[Role.STORE_MANAGER], store_id=shelf.store.id)
    customer.store_id = shelf.store.id
    session.flush()
    headers = {"Authorization": f"Bearer {make_token(session, staff)}"}
    response = api.post(
        "/api/v1/orders",
        json={
            "customer_id": customer.id,
            "items": [{"sku_id": shelf.skus[0].id, "quantity": 1}],
            "fulfilment": "pickup",
            "pickup_store_id": shelf.store.id,
            "store_id": shelf.store.id,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["sales_channel"], body["store_id"], body["guide_id"]) == (
        "store",
        shelf.store.id,
        staff.id,
    )
    stranger = make_customer(session, cipher)
    response = api.post(
        "/api/v1/orders",
        json={"customer_id": stranger.id, "items": [{"sku_id": shelf.skus[0].id, "quantity": 1}]},
        headers=headers,
    )
    assert response.status_code == 404
