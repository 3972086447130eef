"""The member centre API and a checkout paying with points, as the storefront does it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.customers import sessions
from siyu.members import audit, points
from siyu.models.order import Order
from tests.members.factories import deliver, make_ladder, make_member
from tests.orders.factories import ADDRESS, make_shelf

pytestmark = pytest.mark.usefixtures("settings")


def _headers(session: Session, customer_id: int) -> dict[str, str]:
    raw, _ = sessions.create_session(session, customer_id=customer_id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def test_member_centre_shows_tier_progress_points_and_history(
    api: TestClient, session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    make_ladder(session)
    customer_id = make_member(session, cipher, points_balance=300)
    points.earn(
        session,
        customer_id,
        80,
        reference="soon",
        reason="birthday",
        expires_at=frozen_clock.now() + timedelta(days=10),
    )
    points.earn(session, customer_id, 20, reference="o", reason="order", frozen=True)
    headers = _headers(session, customer_id)
    me = api.get("/api/shop/v1/member", headers=headers).json()
    assert me["tier"]["code"] == "normal"
    assert me["next_tier"]["code"] == "silver"
    assert me["growth_to_next"] == 1000
    assert (me["points_available"], me["points_frozen"]) == (380, 20)
    assert me["expiring"]["points"] == 80
    history = api.get("/api/shop/v1/member/points?limit=2", headers=headers).json()
    assert [(e["kind"], e["amount"], e["status"]) for e in history["items"]] == [
        ("earn", 20, "frozen"),
        ("earn", 80, "available"),
    ]
    assert history["next_cursor"]
    ladder = api.get("/api/shop/v1/member/tiers", headers=headers).json()
    assert [(t["code"], t["is_current"]) for t in ladder["items"]] == [
        ("normal", True),
        ("silver", False),
        ("gold", False),
        ("black", False),
    ]
    assert api.get("/api/shop/v1/member").status_code == 401


def test_a_new_customer_sees_the_base_tier_without_becoming_a_member(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    from siyu.models.member import Membership
    from tests.customers.factories import make_customer

    make_ladder(session)
    customer = make_customer(session, cipher)
    me = api.get("/api/shop/v1/member", headers=_headers(session, customer.id)).json()
    assert me["tier"]["code"] == "normal"
    assert me["points_available"] == 0
    assert session.get(Membership, customer.id) is None


def test_checkout_with_points_through_the_shop_api(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    make_ladder(session)
    shelf = make_shelf(session, prices=(10000,))
    customer_id = make_member(session, cipher, points_balance=5000)
    headers = _headers(session, customer_id)
    body = {"items": [{"sku_id": shelf.skus[0].id, "quantity": 1}], "address": ADDRESS}

    preview = api.post(
        "/api/shop/v1/checkout/preview", json={**body, "points": 9999}, headers=headers
    )
    assert preview.status_code == 409
    assert preview.json()["code"] == "points.insufficient"
    capped = api.post(
        "/api/shop/v1/checkout/preview", json={**body, "points": 4000}, headers=headers
    ).json()
    # 20 % of ¥100 = ¥20 = 2000 points: asked for 4000, 2000 are used.
    assert capped["details"]["points"] == {
        "balance": 5000,
        "max_points": 2000,
        "requested": 4000,
        "spend_points": 2000,
        "deduction_amount": 2000,
        "points_value": 100,
    }
    assert capped["total_amount"] == 8000 + 1000  # below ¥99 after points: shipping
    assert points.balance(session, customer_id) == (5000, 0)  # a preview spends nothing

    created = api.post("/api/shop/v1/orders", json={**body, "points": 1500}, headers=headers)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["discount_amount"] == 1500
    assert points.balance(session, customer_id) == (3500, 0)
    pay = api.post(f"/api/shop/v1/orders/{order['public_id']}/pay", json={}, headers=headers)
    payment = pay.json()
    api.post(f"/api/shop/v1/payments/sandbox/{payment['payment_id']}/confirm", headers=headers)
    deliver(session, "order.paid")
    # 8500 paid + 1000 shipping = ¥95 → 95 points frozen until the order is final.
    assert points.balance(session, customer_id) == (3500, 95)
    me = api.get("/api/shop/v1/member", headers=headers).json()
    assert (me["points_available"], me["points_frozen"], me["growth_value"]) == (3500, 95, 95)
    assert audit.run(session).ok


def test_too_many_points_refuses_the_order_and_changes_nothing(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    shelf = make_shelf(session, prices=(10000,))
    customer_id = make_member(session, cipher, points_balance=100)
    headers = _headers(session, customer_id)
    body = {
        "items": [{"sku_id": shelf.skus[0].id, "quantity": 1}],
        "address": ADDRESS,
        "points": 101,
    }
    response = api.post("/api/shop/v1/orders", json=body, headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "points.insufficient"
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert points.balance(session, customer_id) == (100, 0)
