"""Console pages for per-store prices (千店千面) and for renaming and moving categories:
the forms go through the catalog services (audit rows included), refuse without
``catalog.manage`` or a CSRF token, and show bad input inline without changing anything."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models.catalog import Category, Product, Sku, StorePrice
from siyu.models.location import Location, LocationKind
from siyu.models.staff import Role
from tests.catalog.factories import (
    audit_actions,
    make_category,
    make_location,
    make_product,
    make_sku,
    make_store_price,
)
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in


def signed_in(client: TestClient, session: Session, role: Role) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(client, staff.username, DEFAULT_PASSWORD)


def overrides(session: Session) -> list[tuple[int, int, int, bool]]:
    rows = session.scalars(select(StorePrice).order_by(StorePrice.sku_id, StorePrice.location_id))
    return [(row.sku_id, row.location_id, row.price, row.is_listed) for row in rows]


def categories_state(session: Session) -> list[tuple[int, str, int | None]]:
    session.expire_all()
    rows = session.scalars(select(Category).order_by(Category.id))
    return [(row.id, row.name, row.parent_id) for row in rows]


def prices_path(product: Product) -> str:
    return f"/console/catalog/products/{product.id}/store-prices"


def row_html(page: str, sku: Sku, store: Location) -> str:
    section = page.split(f'id="sku-{sku.id}"', 1)[1].split("</section>", 1)[0]
    return section.split(f'data-location-id="{store.id}"', 1)[1].split("</tr>", 1)[0]


@pytest.fixture
def catalog(session: Session) -> tuple[Product, Sku, Location, Location]:
    product = make_product(session, name="丝绒口红")
    sku = make_sku(session, product=product, list_price=29900, sale_price=25900)
    shanghai = make_location(session, name="上海店")
    hangzhou = make_location(session, name="杭州店")
    return product, sku, shanghai, hangzhou


def test_store_prices_set_delist_relist_and_remove(
    client: TestClient, session: Session, catalog: tuple[Product, Sku, Location, Location]
) -> None:
    product, sku, shanghai, hangzhou = catalog
    make_location(session, name="中心仓", kind=LocationKind.WAREHOUSE)
    token = signed_in(client, session, Role.OPERATOR)

    edit = client.get(f"/console/catalog/products/{product.id}")
    assert f'href="{prices_path(product)}" id="store-prices-link"' in edit.text
    page = client.get(prices_path(product))
    assert page.status_code == 200
    assert page.text.count(f'id="sku-{sku.id}"') == 1
    assert page.text.count("data-location-id=") == 2  # stores only, not the warehouse
    assert "按统一售价" in row_html(page.text, sku, shanghai)

    def post(action: str, **fields: str) -> str:
        response = client.post(
            f"{prices_path(product)}/{action}",
            data={"csrf_token": token, "sku_id": str(sku.id), **fields},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return response.headers["location"]

    location = post("set", location_id=str(shanghai.id), price="¥199.5")
    assert location == f"{prices_path(product)}?done=set#sku-{sku.id}"
    assert overrides(session) == [(sku.id, shanghai.id, 19950, True)]
    shown = client.get(location)
    assert "门店价已保存" in shown.text
    assert '<td class="number" data-stat="price">¥199.50</td>' in row_html(
        shown.text, sku, shanghai
    )

    # De-listing a store without its own price keeps the sale price on the row.
    post("listing", location_id=str(hangzhou.id), listed="0")
    # De-listing a store with its own price keeps that price.
    post("listing", location_id=str(shanghai.id), listed="0")
    assert overrides(session) == [
        (sku.id, shanghai.id, 19950, False),
        (sku.id, hangzhou.id, 25900, False),
    ]
    # A new price leaves the listing as it was.
    post("set", location_id=str(shanghai.id), price="189")
    assert overrides(session)[0] == (sku.id, shanghai.id, 18900, False)
    delisted = client.get(prices_path(product)).text
    assert "本店不卖" in row_html(delisted, sku, shanghai)
    assert 'name="listed" value="1"' in row_html(delisted, sku, shanghai)

    post("listing", location_id=str(shanghai.id), listed="1")
    assert overrides(session)[0] == (sku.id, shanghai.id, 18900, True)
    assert post("remove", location_id=str(hangzhou.id)).endswith("?done=remove#sku-" + str(sku.id))
    assert overrides(session) == [(sku.id, shanghai.id, 18900, True)]
    assert audit_actions(session) == [
        "catalog.store_price.set",
        "catalog.store_price.set",
        "catalog.store_price.set",
        "catalog.store_price.set",
        "catalog.store_price.set",
        "catalog.store_price.delete",
    ]


@pytest.mark.parametrize(
    ("action", "fields", "status", "message"),
    [
        ("set", {"price": "299.01"}, 422, "门店价不能高于划线价 ¥299.00。"),
        ("set", {"price": "1.234"}, 422, "请检查“价格”一项的填写。"),
        ("set", {"price": ""}, 422, "请检查“价格”一项的填写。"),
        ("set", {"price": "-5"}, 422, "请检查“价格”一项的填写。"),
        ("listing", {"listed": "0"}, 200, ""),
        ("remove", {}, 404, "找不到该商品、类目或门店。"),
    ],
)
def test_bad_store_price_input_is_shown_in_the_row_and_changes_nothing(
    client: TestClient,
    session: Session,
    catalog: tuple[Product, Sku, Location, Location],
    action: str,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    product, sku, shanghai, _hangzhou = catalog
    token = signed_in(client, session, Role.OPERATOR)
    make_store_price(session, sku=sku, location=shanghai, price=20000)
    before = overrides(session)
    if action == "listing":
        # Listing is only bad for a store that does not exist.
        fields = {**fields, "location_id": "999999"}
        status, message = 422, "门店价只能设置给已有的门店，不能设置给仓库。"
    else:
        other = make_location(session, name="无门店价的店")
        fields = {**fields, "location_id": str(other.id if action == "remove" else shanghai.id)}
    response = client.post(
        f"{prices_path(product)}/{action}",
        data={"csrf_token": token, "sku_id": str(sku.id), **fields},
    )
    assert response.status_code == status
    assert f'id="catalog-flash">{message}</div>' in response.text
    assert overrides(session) == before
    assert audit_actions(session) == []
    if action == "set":
        row = row_html(response.text, sku, shanghai)
        assert 'data-error="1"' in row
        assert f'name="price" value="{fields["price"]}"' in row
        assert f'data-row-error="1">{message}</div>' in row


def test_unknown_store_warehouse_and_foreign_sku_are_refused(
    client: TestClient, session: Session, catalog: tuple[Product, Sku, Location, Location]
) -> None:
    product, sku, shanghai, _hangzhou = catalog
    token = signed_in(client, session, Role.OPERATOR)
    warehouse = make_location(session, name="中心仓", kind=LocationKind.WAREHOUSE)
    foreign = make_sku(session, product=make_product(session))
    path = f"{prices_path(product)}/set"
    for location_id in (warehouse.id, 999999):
        refused = client.post(
            path,
            data={
                "csrf_token": token,
                "sku_id": str(sku.id),
                "location_id": str(location_id),
                "price": "100",
            },
        )
        assert refused.status_code == 422
        assert "门店价只能设置给已有的门店，不能设置给仓库。" in refused.text
    other_product = client.post(
        path,
        data={
            "csrf_token": token,
            "sku_id": str(foreign.id),
            "location_id": str(shanghai.id),
            "price": "100",
        },
    )
    assert other_product.status_code == 404
    malformed = client.post(
        path,
        data={"csrf_token": token, "sku_id": "abc", "location_id": str(shanghai.id), "price": "1"},
    )
    assert malformed.status_code == 422
    assert client.get("/console/catalog/products/999999/store-prices").status_code == 404
    assert overrides(session) == []
    assert audit_actions(session) == []


def test_store_prices_need_catalog_manage_and_a_csrf_token(
    client: TestClient, session: Session, catalog: tuple[Product, Sku, Location, Location]
) -> None:
    product, sku, shanghai, _hangzhou = catalog
    make_store_price(session, sku=sku, location=shanghai, price=20000)
    before = overrides(session)
    writes = [
        ("set", {"price": "100"}),
        ("listing", {"listed": "0"}),
        ("remove", {}),
    ]

    def attempt_all(token: str) -> list[int]:
        statuses = [client.get(prices_path(product), follow_redirects=False).status_code]
        for action, fields in writes:
            response = client.post(
                f"{prices_path(product)}/{action}",
                data={
                    "csrf_token": token,
                    "sku_id": str(sku.id),
                    "location_id": str(shanghai.id),
                    **fields,
                },
                follow_redirects=False,
            )
            statuses.append(response.status_code)
        return statuses

    assert attempt_all("") == [303, 303, 303, 303]  # anonymous: to the login page
    token = signed_in(client, session, Role.GUIDE)
    assert attempt_all(token) == [403, 403, 403, 403]
    denied = client.get(prices_path(product))
    assert denied.status_code == 403
    assert "<!doctype html>" in denied.text.lower()
    client.post("/console/logout", data={"csrf_token": token})
    signed_in(client, session, Role.OPERATOR)
    assert attempt_all("wrong-token")[1:] == [403, 403, 403]
    assert overrides(session) == before
    assert audit_actions(session) == []


def test_category_rename_and_move(client: TestClient, session: Session) -> None:
    token = signed_in(client, session, Role.OPERATOR)
    face = make_category(session, name="面部护理")
    makeup = make_category(session, name="彩妆")
    lips = make_category(session, name="唇部", parent_id=makeup.id)

    page = client.get("/console/catalog/categories")
    form = page.text.split(f'id="category-edit-{makeup.id}"', 1)[1].split("</form>", 1)[0]
    # A category cannot be offered itself or anything below it as a parent.
    assert re.findall(r'<option value="(\d+)"', form) == [str(face.id)]

    renamed = client.post(
        f"/console/catalog/categories/{lips.id}",
        data={"csrf_token": token, "name": " 唇妆 ", "parent_id": str(makeup.id)},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    assert renamed.headers["location"] == "/console/catalog/categories?saved=1"
    moved = client.post(
        f"/console/catalog/categories/{lips.id}",
        data={"csrf_token": token, "name": "唇妆", "parent_id": str(face.id)},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    to_top = client.post(
        f"/console/catalog/categories/{lips.id}",
        data={"csrf_token": token, "name": "唇妆", "parent_id": ""},
        follow_redirects=False,
    )
    assert to_top.status_code == 303
    assert categories_state(session) == [
        (face.id, "面部护理", None),
        (makeup.id, "彩妆", None),
        (lips.id, "唇妆", None),
    ]
    assert audit_actions(session) == ["catalog.category.update"] * 3


@pytest.mark.parametrize(
    ("name", "parent", "status", "message"),
    [
        ("", "", 422, "请检查“名称”一项的填写。"),
        ("彩妆", "", 409, "编码或名称已被占用，或与现有数据冲突。"),
        ("唇部", "self", 422, "请检查“上级类目”一项的填写。"),
        ("唇部", "child", 422, "请检查“上级类目”一项的填写。"),
        ("唇部", "999999", 422, "请检查“上级类目”一项的填写。"),
        ("唇部", "abc", 422, "请检查“上级类目”一项的填写。"),
        ("唇部", "0", 422, "请检查“上级类目”一项的填写。"),
    ],
)
def test_bad_category_edits_are_shown_and_change_nothing(
    client: TestClient, session: Session, name: str, parent: str, status: int, message: str
) -> None:
    token = signed_in(client, session, Role.OPERATOR)
    make_category(session, name="彩妆")
    lips = make_category(session, name="唇部")
    child = make_category(session, name="唇釉", parent_id=lips.id)
    parent_id = {"self": str(lips.id), "child": str(child.id)}.get(parent, parent)
    before = categories_state(session)
    response = client.post(
        f"/console/catalog/categories/{lips.id}",
        data={"csrf_token": token, "name": name, "parent_id": parent_id},
    )
    assert response.status_code == status
    assert f'id="catalog-flash">{message}</div>' in response.text
    row = response.text.split(f'data-category-id="{lips.id}"', 1)[1].split("</tr>", 1)[0]
    assert "open data-error" in row
    assert f'name="name" value="{name}"' in row
    assert categories_state(session) == before
    assert audit_actions(session) == []


def test_category_edit_needs_catalog_manage(client: TestClient, session: Session) -> None:
    lips = make_category(session, name="唇部")
    before = categories_state(session)
    anonymous = client.post(
        f"/console/catalog/categories/{lips.id}",
        data={"name": "改名"},
        follow_redirects=False,
    )
    assert anonymous.status_code == 303
    token = signed_in(client, session, Role.GUIDE)
    denied = client.post(
        f"/console/catalog/categories/{lips.id}", data={"csrf_token": token, "name": "改名"}
    )
    assert denied.status_code == 403
    missing = client.post(
        "/console/catalog/categories/999999", data={"csrf_token": token, "name": "改名"}
    )
    assert missing.status_code == 403
    assert categories_state(session) == before
    assert audit_actions(session) == []
