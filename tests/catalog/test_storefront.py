"""Consumer catalog reads (/api/shop/v1): what is shown, at what price, and which
stores near me have it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.catalog import availability
from siyu.catalog.errors import SkuUnavailable
from siyu.core.crypto import PiiCipher
from siyu.models.catalog import ProductStatus
from siyu.models.location import LocationKind
from siyu.models.staff import Role
from tests.catalog.factories import (
    bearer,
    customer_headers,
    make_category,
    make_location,
    make_product,
    make_sku,
    make_store_price,
    put_stock,
)

SHOP = "/api/shop/v1"
# People's Square, Shanghai, and stores at known distances from it.
HERE = (31.2304, 121.4737)


def test_only_sellable_products_are_listed(client: TestClient, session: Session) -> None:
    lips = make_category(session, name="唇部")
    shown = make_product(session, name="在售口红", category_id=lips.id)
    make_sku(session, product=shown, sale_price=19900, list_price=25000)
    make_sku(session, product=shown, sale_price=9900, list_price=12000, channels=["store"])
    for status in (ProductStatus.DRAFT, ProductStatus.OFF):
        hidden = make_product(session, status=status, name=f"{status}口红")
        make_sku(session, product=hidden)
    store_only = make_product(session, name="门店专供")
    make_sku(session, product=store_only, channels=["store"])
    inactive = make_product(session, name="停用规格")
    make_sku(session, product=inactive, is_active=False)

    page = client.get(f"{SHOP}/products").json()
    assert [
        (card["name"], card["price_from"], card["list_price_from"]) for card in page["items"]
    ] == [("在售口红", 19900, 25000)]
    assert client.get(f"{SHOP}/products?category_id={lips.id}").json()["items"][0]["id"] == shown.id
    assert client.get(f"{SHOP}/products?q=口红").json()["items"][0]["id"] == shown.id
    assert client.get(f"{SHOP}/products?q=面霜").json()["items"] == []
    for hidden_id in (store_only.id, inactive.id):
        response = client.get(f"{SHOP}/products/{hidden_id}")
        assert (response.status_code, response.json()["code"]) == (404, "catalog.not_found")

    detail = client.get(f"{SHOP}/products/{shown.id}").json()
    # The store-only SKU is not offered in the mall.
    assert [sku["unit_price"] for sku in detail["skus"]] == [19900]


def test_store_context_applies_its_prices_and_delisting(
    client: TestClient, session: Session
) -> None:
    product = make_product(session, spec_names=["颜色"])
    red = make_sku(session, product=product, specs={"颜色": "正红"}, sale_price=20000)
    pink = make_sku(session, product=product, specs={"颜色": "豆沙"}, sale_price=21000)
    store = make_location(session)
    make_store_price(session, sku=red, location=store, price=18000)
    make_store_price(session, sku=pink, location=store, price=21000, is_listed=False)
    other = make_product(session)
    only = make_sku(session, product=other)
    make_store_price(session, sku=only, location=store, price=1, is_listed=False)

    mall = client.get(f"{SHOP}/products/{product.id}").json()
    assert [(s["unit_price"], s["price_kind"]) for s in mall["skus"]] == [
        (20000, "sale_price"),
        (21000, "sale_price"),
    ]
    assert mall["specs"] == [{"name": "颜色", "values": ["正红", "豆沙"]}]
    in_store = client.get(f"{SHOP}/products/{product.id}?store_id={store.id}").json()
    assert [(s["id"], s["unit_price"], s["price_kind"]) for s in in_store["skus"]] == [
        (red.id, 18000, "store_price")
    ]
    assert in_store["specs"] == [{"name": "颜色", "values": ["正红"]}]
    listing = client.get(f"{SHOP}/products?store_id={store.id}").json()
    assert [(card["id"], card["price_from"]) for card in listing["items"]] == [(product.id, 18000)]
    assert client.get(f"{SHOP}/products/{other.id}?store_id={store.id}").status_code == 404
    unknown = client.get(f"{SHOP}/products?store_id=999999")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "catalog.location_unknown")


def test_delivery_stock_flag_counts_only_shipping_locations(
    client: TestClient, session: Session
) -> None:
    product = make_product(session)
    shipped = make_sku(session, product=product)
    store_only = make_sku(session, product=product)
    warehouse = make_location(session, kind=LocationKind.WAREHOUSE, ships_online=True)
    store = make_location(session)
    put_stock(session, sku=shipped, location=warehouse, quantity=1)
    put_stock(session, sku=store_only, location=store, quantity=50)

    detail = client.get(f"{SHOP}/products/{product.id}").json()
    assert {s["id"]: s["in_stock_for_delivery"] for s in detail["skus"]} == {
        shipped.id: True,
        store_only.id: False,
    }


def test_listing_pages_by_sort_weight(client: TestClient, session: Session) -> None:
    weights = [5, 0, 5, 9, 0]
    made = []
    for weight in weights:
        product = make_product(session, sort_weight=weight)
        make_sku(session, product=product)
        made.append((weight, product.id))
    expected = [pid for _w, pid in sorted(made, key=lambda item: (-item[0], -item[1]))]

    seen: list[int] = []
    cursor = ""
    while True:
        page = client.get(
            f"{SHOP}/products?limit=2" + (f"&cursor={cursor}" if cursor else "")
        ).json()
        seen.extend(card["id"] for card in page["items"])
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == expected


def stores_near(session: Session) -> dict[str, int]:
    product = make_product(session)
    sku = make_sku(session, product=product, sale_price=10000)
    # Roughly 1 km, 5 km and 20 km from HERE, one without coordinates.
    near = make_location(session, name="B 近店", latitude=31.2394, longitude=121.4737)
    middle = make_location(session, name="A 中店", latitude=31.2754, longitude=121.4737)
    far = make_location(session, name="C 远店", latitude=31.4104, longitude=121.4737)
    nowhere = make_location(session, name="D 无坐标店")
    low = make_location(session, name="E 少量店", latitude=31.2304, longitude=121.4837)
    empty = make_location(session, name="F 缺货店", latitude=31.2304, longitude=121.4747)
    closed = make_location(
        session, name="G 停业店", is_active=False, latitude=31.23, longitude=121.47
    )
    no_pickup = make_location(
        session, name="H 不自提店", accepts_pickup=False, latitude=31.23, longitude=121.47
    )
    delisted = make_location(session, name="I 下架店", latitude=31.23, longitude=121.47)
    warehouse = make_location(
        session, name="J 仓库", kind=LocationKind.WAREHOUSE, latitude=31.23, longitude=121.47
    )
    for location, quantity in (
        (near, 10),
        (middle, 4),
        (far, 30),
        (nowhere, 8),
        (low, 3),
        (empty, 1),
        (closed, 9),
        (no_pickup, 9),
        (delisted, 9),
        (warehouse, 99),
    ):
        put_stock(session, sku=sku, location=location, quantity=quantity)
    make_store_price(session, sku=sku, location=middle, price=9000)
    make_store_price(session, sku=sku, location=delisted, price=9000, is_listed=False)
    return {"product": product.id, "sku": sku.id}


def test_stores_near_me_sorted_by_distance_with_coarse_stock(
    client: TestClient, session: Session
) -> None:
    ids = stores_near(session)

    response = client.get(
        f"{SHOP}/products/{ids['product']}/availability",
        params={"sku_id": ids["sku"], "quantity": 2, "lat": HERE[0], "lng": HERE[1]},
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(i["name"], i["stock_status"], i["unit_price"]) for i in items] == [
        ("E 少量店", "low_stock", 10000),
        ("B 近店", "in_stock", 10000),
        ("A 中店", "in_stock", 9000),
        ("C 远店", "in_stock", 10000),
        ("D 无坐标店", "in_stock", 10000),
    ]
    assert [i["distance_km"] for i in items] == [0.95, 1.0, 5.0, 20.02, None]
    assert all("available" not in item for item in items)

    by_name = client.get(
        f"{SHOP}/products/{ids['product']}/availability",
        params={"sku_id": ids["sku"], "quantity": 5},
    ).json()["items"]
    assert [i["name"] for i in by_name] == ["B 近店", "C 远店", "D 无坐标店"]
    assert {i["distance_km"] for i in by_name} == {None}

    half = client.get(
        f"{SHOP}/products/{ids['product']}/availability",
        params={"sku_id": ids["sku"], "lat": HERE[0]},
    )
    assert (half.status_code, half.json()["code"]) == (422, "catalog.invalid")
    zero = client.get(
        f"{SHOP}/products/{ids['product']}/availability",
        params={"sku_id": ids["sku"], "quantity": 0},
    )
    assert zero.status_code == 422
    other_product = client.get(
        f"{SHOP}/products/{ids['product'] + 1000}/availability", params={"sku_id": ids["sku"]}
    )
    assert other_product.status_code == 404


def test_staff_see_exact_counts(client: TestClient, session: Session) -> None:
    ids = stores_near(session)
    response = client.get(
        f"/api/v1/catalog/skus/{ids['sku']}/availability",
        params={"quantity": 2, "lat": HERE[0], "lng": HERE[1]},
        headers=bearer(session, Role.STORE_MANAGER),
    )
    assert response.status_code == 200, response.text
    assert [(i["name"], i["available"]) for i in response.json()["items"]] == [
        ("E 少量店", 3),
        ("B 近店", 10),
        ("A 中店", 4),
        ("C 远店", 30),
        ("D 无坐标店", 8),
    ]


def test_availability_of_an_unsellable_sku_is_refused(session: Session) -> None:
    sku = make_sku(session, product=make_product(session, status=ProductStatus.OFF))
    with pytest.raises(SkuUnavailable) as refused:
        availability.stores_with_stock(session, sku.id, 1)
    assert refused.value.data == {"sku_id": sku.id, "reason": "off_sale"}


def test_haversine_matches_a_known_distance() -> None:
    # One degree along a meridian is 2πR/360 on the mean-radius sphere.
    assert round(availability.haversine_km(31.0, 121.0, 32.0, 121.0), 3) == 111.195
    assert availability.haversine_km(31.2, 121.4, 31.2, 121.4) == 0.0
    # Shanghai People's Square to Beijing Tiananmen (great circle, ≈1,068 km).
    assert round(availability.haversine_km(31.2304, 121.4737, 39.9087, 116.3975)) == 1068


def test_categories_and_stores(client: TestClient, session: Session) -> None:
    face = make_category(session, name="彩妆")
    make_category(session, name="唇部", parent_id=face.id)
    hidden = make_category(session, name="停用")
    hidden.is_active = False
    make_category(session, name="停用的子类", parent_id=hidden.id)
    make_location(session, name="乙店", latitude=31.2394, longitude=121.4737)
    make_location(session, name="甲店")
    make_location(session, name="仓", kind=LocationKind.WAREHOUSE)
    make_location(session, name="不自提", accepts_pickup=False)
    session.flush()

    assert [c["name"] for c in client.get(f"{SHOP}/categories").json()["items"]] == ["彩妆", "唇部"]
    by_name = client.get(f"{SHOP}/stores").json()["items"]
    assert [s["name"] for s in by_name] == ["乙店", "甲店"]
    near = client.get(f"{SHOP}/stores", params={"lat": HERE[0], "lng": HERE[1]}).json()["items"]
    assert [(s["name"], s["distance_km"]) for s in near] == [("乙店", 1.0), ("甲店", None)]


def test_storefront_reads_are_open_to_everyone_and_read_only(
    client: TestClient, session: Session
) -> None:
    product = make_product(session)
    sku = make_sku(session, product=product)
    paths = [
        f"{SHOP}/categories",
        f"{SHOP}/products",
        f"{SHOP}/products/{product.id}",
        f"{SHOP}/products/{product.id}/availability?sku_id={sku.id}",
        f"{SHOP}/stores",
    ]
    callers = {
        "anonymous": {},
        "customer": customer_headers(session, PiiCipher("k" * 40)),
        "staff without permission": bearer(session, Role.INTEGRATION),
    }
    for caller, headers in callers.items():
        for path in paths:
            assert client.get(path, headers=headers).status_code == 200, (caller, path)
    for path in paths:
        assert client.post(path, json={}).status_code == 405, path


def test_search_ignores_case(client: TestClient, session: Session) -> None:
    product = make_product(session, name="Velvet Lip 丝绒")
    make_sku(session, product=product)
    for q in ("velvet", "LIP", "丝绒"):
        found = client.get(f"{SHOP}/products", params={"q": q}).json()["items"]
        assert [card["id"] for card in found] == [product.id], q
