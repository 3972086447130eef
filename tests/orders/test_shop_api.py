"""The storefront orders API as a mini program uses it: cart → checkout → pay → refund."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.customers import sessions
from siyu.models.catalog import ProductStatus
from siyu.models.order import CartItem, Order
from siyu.models.payment import Refund
from siyu.models.stock import StockLevel
from tests.customers.factories import make_customer
from tests.orders.factories import ADDRESS, Shelf, make_shelf

pytestmark = pytest.mark.usefixtures("settings")


def _shopper(session: Session, cipher: PiiCipher) -> tuple[int, dict[str, str]]:
    customer = make_customer(session, cipher)
    raw, _ = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
    return customer.id, {sessions.TOKEN_HEADER: raw}


def _order_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Order)) or 0


def _checkout(shelf: Shelf, **extra: Any) -> dict[str, Any]:
    return {"items": [{"sku_id": shelf.skus[0].id, "quantity": 1}], "address": ADDRESS, **extra}


def test_cart_checkout_pay_and_refund(api: TestClient, session: Session, cipher: PiiCipher) -> None:
    shelf = make_shelf(session)
    _customer_id, headers = _shopper(session, cipher)
    sku = shelf.skus[0]
    response = api.post(
        "/api/shop/v1/cart/items", json={"sku_id": sku.id, "quantity": 2}, headers=headers
    )
    assert response.status_code == 200
    api.post("/api/shop/v1/cart/items", json={"sku_id": sku.id, "quantity": 1}, headers=headers)
    cart = api.get("/api/shop/v1/cart", headers=headers).json()
    assert [(item["sku_id"], item["quantity"]) for item in cart["items"]] == [(sku.id, 3)]
    assert cart["selected_amount"] == 3 * sku.sale_price

    preview = api.post(
        "/api/shop/v1/checkout/preview", json={"from_cart": True}, headers=headers
    ).json()
    assert preview["total_amount"] == 3 * sku.sale_price
    assert preview["lines"][0]["price_breakdown"][0]["step"] == "base_price"

    created = api.post(
        "/api/shop/v1/orders",
        json={"from_cart": True, "address": ADDRESS, "note": "请尽快发货"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "pending_payment"
    assert order["touchpoint"] == "mp"
    assert order["address"]["phone"] == ADDRESS["phone"]  # the buyer sees their own address
    assert api.get("/api/shop/v1/cart", headers=headers).json()["items"] == []

    pay = api.post(f"/api/shop/v1/orders/{order['public_id']}/pay", json={}, headers=headers)
    assert pay.status_code == 200, pay.text
    payment = pay.json()
    assert payment["client_parameters"]["pay_url"] == f"/shop/pay/{payment['payment_id']}"
    confirmed = api.post(
        f"/api/shop/v1/payments/sandbox/{payment['payment_id']}/confirm", headers=headers
    )
    assert confirmed.json()["order_status"] == "paid"

    refund = api.post(
        f"/api/shop/v1/orders/{order['public_id']}/refunds",
        json={"items": [{"line_no": 1, "quantity": 1}], "reason": "颜色不喜欢"},
        headers=headers,
    )
    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == sku.sale_price
    detail = api.get(f"/api/shop/v1/orders/{order['public_id']}", headers=headers).json()
    assert detail["status"] == "refunding"
    assert [t["to_status"] for t in detail["transitions"]] == [
        "pending_payment",
        "paid",
        "refunding",
    ]


def test_customers_see_only_their_own_orders(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    shelf = make_shelf(session)
    _, alice = _shopper(session, cipher)
    _, bob = _shopper(session, cipher)
    order = api.post("/api/shop/v1/orders", json=_checkout(shelf), headers=alice).json()
    assert api.get(f"/api/shop/v1/orders/{order['public_id']}", headers=bob).status_code == 404
    response = api.post(f"/api/shop/v1/orders/{order['public_id']}/cancel", headers=bob)
    assert response.status_code == 404
    assert api.get("/api/shop/v1/orders", headers=bob).json()["items"] == []
    assert len(api.get("/api/shop/v1/orders", headers=alice).json()["items"]) == 1


@pytest.mark.parametrize(
    "path",
    ["/api/shop/v1/cart", "/api/shop/v1/orders"],
)
def test_anonymous_is_401(api: TestClient, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "customer.session_invalid"


def _bad_inputs(shelf: Shelf) -> list[tuple[dict[str, Any], int, str]]:
    sku = shelf.skus[0]
    item = {"sku_id": sku.id, "quantity": 1}
    return [
        ({"items": [], "address": ADDRESS}, 422, "order.empty"),
        (
            {"items": [{"sku_id": sku.id, "quantity": 0}], "address": ADDRESS},
            422,
            "order.invalid_quantity",
        ),
        (
            {"items": [{"sku_id": sku.id, "quantity": -3}], "address": ADDRESS},
            422,
            "order.invalid_quantity",
        ),
        (
            {"items": [{"sku_id": sku.id, "quantity": 100}], "address": ADDRESS},
            422,
            "order.invalid_quantity",
        ),
        (
            {"items": [{"sku_id": 999999, "quantity": 1}], "address": ADDRESS},
            422,
            "catalog.sku_unavailable",
        ),
        ({"items": [item]}, 422, "order.invalid_checkout"),  # delivery without an address
        (
            {"items": [item], "fulfilment": "pickup", "pickup_store_id": 999999},
            422,
            "catalog.location_unknown",
        ),
        ({"items": [item], "fulfilment": "pickup"}, 422, "order.invalid_checkout"),
        (
            {"items": [item], "address": ADDRESS, "channel_code": "nope"},
            422,
            "order.invalid_checkout",
        ),
        (
            {"items": [{"sku_id": sku.id, "quantity": 99}], "address": ADDRESS},
            409,
            "stock.insufficient",
        ),
    ]


def test_bad_checkouts_are_4xx_and_write_nothing(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    shelf = make_shelf(session, warehouse_stock=5, store_stock=0)
    _, headers = _shopper(session, cipher)
    for body, status, code in _bad_inputs(shelf):
        response = api.post("/api/shop/v1/orders", json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert _order_count(session) == 0
    level = session.get_one(StockLevel, (shelf.skus[0].id, shelf.warehouse.id))
    assert level.reserved == 0


def test_off_sale_and_channel_excluded_skus_cannot_be_ordered(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    shelf = make_shelf(session)
    _, headers = _shopper(session, cipher)
    store_only = shelf.skus[1]
    store_only.channels = ["store"]
    session.flush()
    response = api.post(
        "/api/shop/v1/orders",
        json={"items": [{"sku_id": store_only.id, "quantity": 1}], "address": ADDRESS},
        headers=headers,
    )
    assert response.json()["data"]["reason"] == "channel_excluded"
    from siyu.models.catalog import Product

    product = session.get_one(Product, shelf.skus[0].product_id)
    product.status = ProductStatus.OFF.value
    session.flush()
    response = api.post("/api/shop/v1/orders", json=_checkout(shelf), headers=headers)
    assert response.json()["data"]["reason"] == "off_sale"
    assert _order_count(session) == 0


def test_paying_a_cancelled_order_is_409(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    shelf = make_shelf(session)
    _, headers = _shopper(session, cipher)
    order = api.post("/api/shop/v1/orders", json=_checkout(shelf), headers=headers).json()
    cancelled = api.post(f"/api/shop/v1/orders/{order['public_id']}/cancel", headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    response = api.post(f"/api/shop/v1/orders/{order['public_id']}/pay", json={}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (409, "payment.not_allowed")
    again = api.post(f"/api/shop/v1/orders/{order['public_id']}/cancel", headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "order.invalid_transition")


def test_refunding_more_than_bought_is_422(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    shelf = make_shelf(session)
    _, headers = _shopper(session, cipher)
    order = api.post("/api/shop/v1/orders", json=_checkout(shelf), headers=headers).json()
    payment = api.post(
        f"/api/shop/v1/orders/{order['public_id']}/pay", json={}, headers=headers
    ).json()
    api.post(f"/api/shop/v1/payments/sandbox/{payment['payment_id']}/confirm", headers=headers)
    response = api.post(
        f"/api/shop/v1/orders/{order['public_id']}/refunds",
        json={"items": [{"line_no": 1, "quantity": 2}], "reason": "x"},
        headers=headers,
    )
    assert (response.status_code, response.json()["code"]) == (422, "refund.invalid")
    assert session.scalar(select(func.count()).select_from(Refund)) == 0


def test_cart_rejects_bad_quantities(api: TestClient, session: Session, cipher: PiiCipher) -> None:
    shelf = make_shelf(session)
    customer_id, headers = _shopper(session, cipher)
    for quantity in (0, -1, 1000):
        response = api.post(
            "/api/shop/v1/cart/items",
            json={"sku_id": shelf.skus[0].id, "quantity": quantity},
            headers=headers,
        )
        assert (response.status_code, response.json()["code"]) == (422, "order.invalid_quantity")
    count = session.scalar(
        select(func.count()).select_from(CartItem).where(CartItem.customer_id == customer_id)
    )
    assert count == 0
