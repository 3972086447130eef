"""Operator catalog API: authorization matrix for every route, the main flows, and
stock changes that land in the ledger with a clean audit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core.crypto import PiiCipher
from siyu.models.catalog import Category, Product, Sku, StorePrice
from siyu.models.location import Location
from siyu.models.staff import AuditLog, Role
from siyu.models.stock import StockLevel, StockMovement
from tests.catalog.factories import (
    audit_actions,
    bearer,
    count,
    customer_headers,
    make_category,
    make_location,
    make_product,
    make_sku,
    put_stock,
)

BASE = "/api/v1/catalog"


def new_product(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "CREAM-50",
        "name": "修护面霜",
        "spec_names": ["规格"],
        "skus": [
            {
                "code": "CREAM-50-30",
                "specs": {"规格": "30ml"},
                "list_price": 39000,
                "sale_price": 35000,
            },
            {
                "code": "CREAM-50-50",
                "specs": {"规格": "50ml"},
                "list_price": 58000,
                "sale_price": 52000,
                "channels": ["mall"],
            },
        ],
        **overrides,
    }


def world(session: Session) -> dict[str, int]:
    """One of everything the routes point at."""
    category = make_category(session)
    product = make_product(session, category_id=category.id)
    sku = make_sku(session, product=product)
    store = make_location(session)
    put_stock(session, sku=sku, location=store, quantity=5)
    session.add(StorePrice(sku_id=sku.id, location_id=store.id, price=20000))
    session.flush()
    return {"category": category.id, "product": product.id, "sku": sku.id, "store": store.id}


def routes(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None, bool]]:
    """(method, path, body, readable with orders.read)."""
    return [
        # First: the product is still on sale, so stores have it.
        ("GET", f"{BASE}/skus/{ids['sku']}/availability", None, True),
        ("GET", f"{BASE}/categories", None, False),
        ("POST", f"{BASE}/categories", {"name": "新类目"}, False),
        ("PATCH", f"{BASE}/categories/{ids['category']}", {"name": "改名"}, False),
        ("DELETE", f"{BASE}/categories/{ids['category']}", None, False),
        ("GET", f"{BASE}/products", None, False),
        ("POST", f"{BASE}/products", new_product(), False),
        ("GET", f"{BASE}/products/{ids['product']}", None, False),
        ("PATCH", f"{BASE}/products/{ids['product']}", {"name": "改名"}, False),
        ("POST", f"{BASE}/products/{ids['product']}/status", {"status": "off"}, False),
        ("GET", f"{BASE}/skus/{ids['sku']}/store-prices", None, False),
        ("PUT", f"{BASE}/skus/{ids['sku']}/store-prices/{ids['store']}", {"price": 1}, False),
        ("DELETE", f"{BASE}/skus/{ids['sku']}/store-prices/{ids['store']}", None, False),
        ("GET", f"{BASE}/locations", None, False),
        ("POST", f"{BASE}/locations", {"code": "NEW1", "name": "新店"}, False),
        ("GET", f"{BASE}/locations/{ids['store']}", None, False),
        ("PATCH", f"{BASE}/locations/{ids['store']}", {"name": "改名"}, False),
        ("DELETE", f"{BASE}/locations/{ids['store']}", None, False),
        ("GET", f"{BASE}/stock?sku_id={ids['sku']}", None, True),
        (
            "POST",
            f"{BASE}/stock/receive",
            {"sku_id": ids["sku"], "location_id": ids["store"], "quantity": 1},
            False,
        ),
        (
            "POST",
            f"{BASE}/stock/adjust",
            {"sku_id": ids["sku"], "location_id": ids["store"], "delta": -1, "reason": "破损"},
            False,
        ),
        ("GET", f"{BASE}/stock/movements", None, False),
        ("GET", f"{BASE}/stock/audit", None, False),
    ]


def snapshot(session: Session) -> tuple[Any, ...]:
    session.expire_all()
    return (
        count(session, Category),
        count(session, Product),
        count(session, Sku),
        count(session, Location),
        count(session, StockMovement),
        count(session, AuditLog),
        tuple(session.scalars(select(Product.name))),
        tuple(session.scalars(select(Category.name))),
        tuple(session.scalars(select(Location.name))),
        tuple(session.scalars(select(StorePrice.price))),
        tuple(session.scalars(select(StockLevel.on_hand))),
    )


@pytest.mark.parametrize("caller", ["anonymous", "customer", "integration", "guide", "analyst"])
def test_callers_without_permission_are_refused_and_nothing_changes(
    client: TestClient, session: Session, caller: str
) -> None:
    ids = world(session)
    headers = {
        "anonymous": lambda: {},
        "customer": lambda: customer_headers(session, PiiCipher("k" * 40)),
        "integration": lambda: bearer(session, Role.INTEGRATION),
        "guide": lambda: bearer(session, Role.GUIDE),
        "analyst": lambda: bearer(session, Role.ANALYST),
    }[caller]()
    may_read_stock = caller in {"guide", "analyst"}  # both hold orders.read
    before = snapshot(session)
    for method, path, body, stock_read in routes(ids):
        response = client.request(method, path, json=body, headers=headers)
        if stock_read and may_read_stock:
            assert response.status_code == 200, (method, path, response.text)
            continue
        expected = 401 if caller in {"anonymous", "customer"} else 403
        assert response.status_code == expected, (method, path, response.text)
        assert response.json()["code"] == (
            "auth.required" if expected == 401 else "auth.permission_denied"
        )
    assert snapshot(session) == before


def test_managers_reach_every_route(client: TestClient, session: Session) -> None:
    ids = world(session)
    headers = bearer(session, Role.OPERATOR)
    expected = {
        "POST": {201, 200},
        "DELETE": {204, 409},
        "GET": {200},
        "PATCH": {200},
        "PUT": {200},
    }
    for method, path, body, _stock_read in routes(ids):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code in expected[method], (method, path, response.text)
    # The category holds a product and the store has stock history: both stay.
    assert session.get(Category, ids["category"]) is not None
    assert session.get(Location, ids["store"]) is not None


def test_create_list_update_and_publish_a_product(client: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    category = client.post(f"{BASE}/categories", json={"name": "护肤"}, headers=headers).json()

    created = client.post(
        f"{BASE}/products", json=new_product(category_id=category["id"]), headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["category_id"]) == ("draft", category["id"])
    assert [(s["code"], s["channels"]) for s in body["skus"]] == [
        ("CREAM-50-30", ["mall", "store"]),
        ("CREAM-50-50", ["mall"]),
    ]

    listed = client.get(f"{BASE}/products?q=面霜&status=draft", headers=headers).json()
    assert [(p["code"], p["sku_count"], p["min_sale_price"]) for p in listed["items"]] == [
        ("CREAM-50", 2, 35000)
    ]
    assert listed["next_cursor"] is None
    assert (
        client.get(f"{BASE}/products?q=CREAM-50-50", headers=headers).json()["items"][0]["id"]
        == body["id"]
    )

    published = client.post(
        f"{BASE}/products/{body['id']}/status", json={"status": "on_sale"}, headers=headers
    )
    assert published.json()["status"] == "on_sale"
    back = client.post(
        f"{BASE}/products/{body['id']}/status", json={"status": "draft"}, headers=headers
    )
    assert back.status_code == 409
    assert back.json()["code"] == "catalog.invalid_status_change"

    conflict = client.post(f"{BASE}/products", json=new_product(), headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "catalog.conflict"
    bad = client.post(
        f"{BASE}/products",
        json=new_product(
            code="X", skus=[{"code": "X1", "specs": {}, "list_price": 1, "sale_price": 1}]
        ),
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "catalog.invalid"
    negative = client.post(
        f"{BASE}/products",
        json=new_product(
            code="Y",
            skus=[{"code": "Y1", "specs": {"规格": "1"}, "list_price": -1, "sale_price": 0}],
        ),
        headers=headers,
    )
    assert negative.status_code == 422
    assert count(session, Product) == 1
    assert audit_actions(session) == [
        "catalog.category.create",
        "catalog.product.create",
        "catalog.product.status",
    ]


def test_product_list_pages_with_a_cursor(client: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    made = [make_product(session).id for _ in range(5)]

    first = client.get(f"{BASE}/products?limit=2", headers=headers).json()
    second = client.get(
        f"{BASE}/products?limit=2&cursor={first['next_cursor']}", headers=headers
    ).json()
    third = client.get(
        f"{BASE}/products?limit=2&cursor={second['next_cursor']}", headers=headers
    ).json()
    seen = [p["id"] for page in (first, second, third) for p in page["items"]]
    assert seen == sorted(made, reverse=True)
    assert third["next_cursor"] is None
    broken = client.get(f"{BASE}/products?cursor=%%%", headers=headers)
    assert (broken.status_code, broken.json()["code"]) == (422, "catalog.invalid_cursor")
    too_many = client.get(f"{BASE}/products?limit=500", headers=headers)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "catalog.invalid_limit")


def test_receive_and_adjust_write_the_ledger_and_the_audit_stays_clean(
    client: TestClient, session: Session
) -> None:
    headers = bearer(session, Role.OPERATOR)
    sku = make_sku(session, product=make_product(session))
    store = make_location(session)

    received = client.post(
        f"{BASE}/stock/receive",
        json={"sku_id": sku.id, "location_id": store.id, "quantity": 12, "reason": "到货"},
        headers=headers,
    )
    assert received.status_code == 200, received.text
    assert received.json() == {
        "sku_id": sku.id,
        "location_id": store.id,
        "on_hand": 12,
        "reserved": 0,
        "available": 12,
    }
    stock.reserve(session, [stock.StockItem(sku.id, store.id, 10)], order_id=None, actor="test")
    adjusted = client.post(
        f"{BASE}/stock/adjust",
        json={"sku_id": sku.id, "location_id": store.id, "delta": -2, "reason": "破损"},
        headers=headers,
    )
    assert adjusted.json()["available"] == 0

    # Below what is reserved: refused, nothing written.
    before = (count(session, StockMovement), count(session, AuditLog))
    too_far = client.post(
        f"{BASE}/stock/adjust",
        json={"sku_id": sku.id, "location_id": store.id, "delta": -1, "reason": "盘亏"},
        headers=headers,
    )
    assert (too_far.status_code, too_far.json()["code"]) == (409, "stock.insufficient")
    no_reason = client.post(
        f"{BASE}/stock/adjust",
        json={"sku_id": sku.id, "location_id": store.id, "delta": 1, "reason": "  "},
        headers=headers,
    )
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "stock.invalid_change")
    unknown = client.post(
        f"{BASE}/stock/receive",
        json={"sku_id": 999_999, "location_id": store.id, "quantity": 1},
        headers=headers,
    )
    assert (unknown.status_code, unknown.json()["data"]["field"]) == (422, "sku_id")
    assert (count(session, StockMovement), count(session, AuditLog)) == before

    ledger = client.get(f"{BASE}/stock/movements?sku_id={sku.id}", headers=headers).json()
    assert [(m["kind"], m["quantity"], m["reason"], m["actor"]) for m in ledger["items"]] == [
        ("adjust", -2, "破损", f"staff:{audit_username(session)}"),
        ("reserve", 10, "", "test"),
        ("receive", 12, "到货", f"staff:{audit_username(session)}"),
    ]
    only_adjust = client.get(f"{BASE}/stock/movements?kind=adjust", headers=headers).json()
    assert [m["kind"] for m in only_adjust["items"]] == ["adjust"]
    assert client.get(f"{BASE}/stock/audit", headers=headers).json() == {
        "consistent": True,
        "mismatches": [],
    }
    assert stock.audit(session) == []
    levels = client.get(f"{BASE}/stock?location_id={store.id}", headers=headers).json()
    assert levels["items"] == [
        {"sku_id": sku.id, "location_id": store.id, "on_hand": 10, "reserved": 10, "available": 0}
    ]
    assert audit_actions(session)[-2:] == ["stock.receive", "stock.adjust"]


def audit_username(session: Session) -> str:
    return str(session.scalar(select(AuditLog.actor).where(AuditLog.action == "stock.receive")))


def test_store_prices_and_locations_through_the_api(client: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    sku = make_sku(session, product=make_product(session), list_price=30000, sale_price=28000)
    created = client.post(
        f"{BASE}/locations",
        json={"code": "BJ01", "name": "北京三里屯店", "latitude": 39.93, "longitude": 116.45},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    store_id = created.json()["id"]
    warehouse = client.post(
        f"{BASE}/locations",
        json={"code": "WH1", "name": "华东仓", "kind": "warehouse", "ships_online": True},
        headers=headers,
    ).json()

    put = client.put(
        f"{BASE}/skus/{sku.id}/store-prices/{store_id}", json={"price": 26000}, headers=headers
    )
    assert put.json() == {
        "sku_id": sku.id,
        "location_id": store_id,
        "price": 26000,
        "is_listed": True,
    }
    not_a_store = client.put(
        f"{BASE}/skus/{sku.id}/store-prices/{warehouse['id']}", json={"price": 1}, headers=headers
    )
    assert not_a_store.status_code == 422
    listed = client.get(f"{BASE}/skus/{sku.id}/store-prices", headers=headers).json()
    assert [row["price"] for row in listed["items"]] == [26000]
    kinds = client.get(f"{BASE}/locations?kind=warehouse", headers=headers).json()
    assert [loc["code"] for loc in kinds["items"]] == ["WH1"]
    assert (
        client.delete(f"{BASE}/skus/{sku.id}/store-prices/{store_id}", headers=headers).status_code
        == 204
    )
    assert client.delete(f"{BASE}/locations/{store_id}", headers=headers).status_code == 204
    assert client.get(f"{BASE}/locations/{store_id}", headers=headers).status_code == 404


def test_out_of_range_ids_are_refused_not_a_server_error(
    client: TestClient, session: Session
) -> None:
    headers = bearer(session, Role.OPERATOR)
    huge = 2**64
    for method, path, body in (
        ("GET", f"{BASE}/products/{huge}", None),
        ("GET", f"{BASE}/stock?sku_id={huge}", None),
        ("POST", f"{BASE}/stock/receive", {"sku_id": huge, "location_id": 1, "quantity": 1}),
        ("POST", f"{BASE}/products", new_product(category_id=huge)),
        ("GET", f"/api/shop/v1/products/{huge}", None),
        ("GET", f"/api/shop/v1/products?store_id={huge}", None),
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (method, path, response.text)
    assert count(session, Product) == 0
