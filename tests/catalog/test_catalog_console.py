"""Console pages of the catalog: they render, a product goes create → edit → on sale
through the forms (prices typed in yuan), and locations and stock work end to end."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.catalog.errors import InvalidCatalogInput
from siyu.models.catalog import Category, Product, ProductStatus, Sku
from siyu.models.location import Location, LocationKind
from siyu.models.staff import Role
from siyu.models.stock import StockMovement, StockMovementKind
from siyu.web import i18n
from siyu.web.console.catalog_forms import CHANNEL_CHOICES, format_yuan, parse_yuan
from siyu.web.console.rendering import TEMPLATES_DIR
from tests.catalog.factories import audit_actions, count, make_location, make_product, make_sku
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

PAGES = [
    "/console/catalog",
    "/console/catalog/products/new",
    "/console/catalog/categories",
    "/console/catalog/locations",
    "/console/catalog/stock",
]


def signed_in(client: TestClient, session: Session, role: Role) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(client, staff.username, DEFAULT_PASSWORD)


def product_form(token: str, **overrides: object) -> dict[str, object]:
    return {
        "csrf_token": token,
        "code": "MASK-01",
        "name": "补水面膜",
        "subtitle": "十片装",
        "category_id": "",
        "spec_names": "规格",
        "images": "https://img.example.com/mask.jpg",
        "description": "",
        "sort_weight": "3",
        "sku_id": ["", "", ""],
        "sku_code": ["MASK-01-5", "MASK-01-10", ""],
        "sku_specs": ["5片", "10片", ""],
        "sku_list_price": ["99", "189.9", ""],
        "sku_sale_price": ["79.5", "¥159", ""],
        "sku_channels": ["mall,store", "mall", "mall,store"],
        "sku_active": ["1", "1", "1"],
        **overrides,
    }


def test_yuan_parsing_is_exact() -> None:
    assert [
        parse_yuan(text, field_name="p") for text in ("0", "1", "1.5", "259.90", "¥ 1,299.99")
    ] == [
        0,
        100,
        150,
        25990,
        129999,
    ]
    for bad in ("", "-1", "1.234", "abc", "1e3", "１"):
        with pytest.raises(InvalidCatalogInput):
            parse_yuan(bad, field_name="p")
    assert [format_yuan(fen) for fen in (0, 5, 25990, None)] == ["0.00", "0.05", "259.90", ""]


def test_anonymous_goes_to_login_and_others_are_refused(
    client: TestClient, session: Session
) -> None:
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login")
    token = signed_in(client, session, Role.GUIDE)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    refused = client.post(
        "/console/catalog/products/new", data=product_form(token), follow_redirects=False
    )
    assert refused.status_code == 403
    assert count(session, Product) == 0


def test_pages_render_for_catalog_managers(client: TestClient, session: Session) -> None:
    signed_in(client, session, Role.OPERATOR)
    product = make_product(session, name="<b>口红</b>")
    make_sku(session, product=product, sale_price=12345)
    make_location(session, name="上海店")
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'id="catalog-subnav"' in page.text
    listing = client.get("/console/catalog").text
    assert "&lt;b&gt;口红&lt;/b&gt;" in listing
    assert "¥123.45" in listing
    assert client.get("/console/catalog?status=draft").text.count("data-product-id") == 0
    for _ in range(50):
        make_product(session)
    first = client.get("/console/catalog")
    assert first.text.count("data-product-id") == 50
    more = re.search(r'id="products-more" href="([^"]+)"', first.text)
    assert more is not None
    second = client.get(html.unescape(more.group(1)))
    assert second.status_code == 200
    assert second.text.count("data-product-id") == 1
    fragment = client.get("/console/catalog/products/sku-row")
    assert fragment.text.lstrip().startswith('<tr class="sku-row"')
    assert 'name="sku_code"' in fragment.text


def test_create_then_edit_then_publish(client: TestClient, session: Session) -> None:
    token = signed_in(client, session, Role.OPERATOR)

    created = client.post(
        "/console/catalog/products/new", data=product_form(token), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    product = session.scalar(select(Product).where(Product.code == "MASK-01"))
    assert product is not None
    assert created.headers["location"] == f"/console/catalog/products/{product.id}?created=1"
    skus = session.scalars(select(Sku).where(Sku.product_id == product.id).order_by(Sku.id)).all()
    assert [(s.code, s.specs, s.list_price, s.sale_price, s.channels) for s in skus] == [
        ("MASK-01-5", {"规格": "5片"}, 9900, 7950, ["mall", "store"]),
        ("MASK-01-10", {"规格": "10片"}, 18990, 15900, ["mall"]),
    ]

    edit = client.get(created.headers["location"])
    assert edit.status_code == 200
    assert 'value="189.90"' in edit.text
    assert "补水面膜" in edit.text

    saved = client.post(
        f"/console/catalog/products/{product.id}",
        data=product_form(
            token,
            name="补水面膜 升级",
            sku_id=[str(skus[0].id), ""],
            sku_code=["MASK-01-5", "MASK-01-20"],
            sku_specs=["5片", "20片"],
            sku_list_price=["99", "299"],
            sku_sale_price=["69", "259"],
            sku_channels=["mall,store", "mall,store"],
            sku_active=["1", "1"],
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    session.refresh(product)
    rows = {s.code: s for s in session.scalars(select(Sku).where(Sku.product_id == product.id))}
    assert product.name == "补水面膜 升级"
    assert (rows["MASK-01-5"].sale_price, rows["MASK-01-20"].sale_price) == (6900, 25900)
    assert rows["MASK-01-10"].is_active is False

    published = client.post(
        f"/console/catalog/products/{product.id}/status",
        data={"csrf_token": token, "status": "on_sale"},
        follow_redirects=False,
    )
    assert published.status_code == 303
    session.refresh(product)
    assert product.status == "on_sale"
    back = client.post(
        f"/console/catalog/products/{product.id}/status",
        data={"csrf_token": token, "status": "draft"},
    )
    assert back.status_code == 409
    assert audit_actions(session) == [
        "catalog.product.create",
        "catalog.product.update",
        "catalog.product.status",
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sku_list_price": ["9.999", "189.9", ""]}, "list_price"),
        ({"sku_sale_price": ["199", "159", ""]}, "sale_price"),
        ({"sku_specs": ["5片/大", "10片", ""]}, "specs"),
        ({"sku_code": ["", "", ""]}, "skus"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_forms_show_the_field_and_write_nothing(
    client: TestClient, session: Session, overrides: dict[str, object], field: str
) -> None:
    token = signed_in(client, session, Role.OPERATOR)
    response = client.post("/console/catalog/products/new", data=product_form(token, **overrides))
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.text
    # What was typed stays in the form.
    assert 'value="MASK-01"' in response.text
    assert (count(session, Product), count(session, Sku)) == (0, 0)
    assert audit_actions(session) == []


def test_duplicate_code_is_a_conflict_on_the_form(client: TestClient, session: Session) -> None:
    token = signed_in(client, session, Role.OPERATOR)
    assert (
        client.post(
            "/console/catalog/products/new", data=product_form(token), follow_redirects=False
        ).status_code
        == 303
    )
    again = client.post("/console/catalog/products/new", data=product_form(token))
    assert again.status_code == 409
    assert 'data-field="code"' in again.text
    assert count(session, Product) == 1


def test_categories_and_locations_pages(client: TestClient, session: Session) -> None:
    token = signed_in(client, session, Role.OPERATOR)
    made = client.post(
        "/console/catalog/categories",
        data={"csrf_token": token, "name": "面部护理", "parent_id": "", "sort_order": "1"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    category = session.scalar(select(Category))
    assert category is not None
    assert category.name == "面部护理"
    duplicate = client.post(
        "/console/catalog/categories", data={"csrf_token": token, "name": "面部护理"}
    )
    assert duplicate.status_code == 409
    deleted = client.post(
        f"/console/catalog/categories/{category.id}/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert count(session, Category) == 0

    location = client.post(
        "/console/catalog/locations",
        data={
            "csrf_token": token,
            "code": "SZ01",
            "name": "深圳万象城店",
            "kind": "store",
            "latitude": "22.54",
            "longitude": "114.06",
            "accepts_pickup": "1",
        },
        follow_redirects=False,
    )
    assert location.status_code == 303, location.text
    store = session.scalar(select(Location).where(Location.code == "SZ01"))
    assert store is not None
    assert (store.latitude, store.accepts_pickup, store.ships_online) == (22.54, True, False)
    half = client.post(
        "/console/catalog/locations",
        data={"csrf_token": token, "code": "SZ02", "name": "半坐标", "latitude": "22.5"},
    )
    assert half.status_code == 422
    toggled = client.post(
        f"/console/catalog/locations/{store.id}/toggle",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert toggled.status_code == 303
    session.refresh(store)
    assert store.is_active is False
    assert count(session, Location) == 1


def test_stock_page_receives_and_adjusts(client: TestClient, session: Session) -> None:
    token = signed_in(client, session, Role.OPERATOR)
    sku = make_sku(session, product=make_product(session, name="精华液"))
    store = make_location(session, name="杭州店")

    received = client.post(
        "/console/catalog/stock/receive",
        data={
            "csrf_token": token,
            "location_id": str(store.id),
            "sku_code": sku.code,
            "quantity": "20",
        },
        follow_redirects=False,
    )
    assert received.status_code == 303, received.text
    assert (
        received.headers["location"]
        == f"/console/catalog/stock?location_id={store.id}&done=receive"
    )
    adjusted = client.post(
        "/console/catalog/stock/adjust",
        data={
            "csrf_token": token,
            "location_id": str(store.id),
            "sku_code": sku.code,
            "delta": "-3",
            "reason": "过期报损",
        },
        follow_redirects=False,
    )
    assert adjusted.status_code == 303
    no_reason = client.post(
        "/console/catalog/stock/adjust",
        data={
            "csrf_token": token,
            "location_id": str(store.id),
            "sku_code": sku.code,
            "delta": "1",
            "reason": "",
        },
    )
    assert no_reason.status_code == 422
    unknown = client.post(
        "/console/catalog/stock/receive",
        data={
            "csrf_token": token,
            "location_id": str(store.id),
            "sku_code": "NOPE",
            "quantity": "1",
        },
    )
    assert unknown.status_code == 422
    assert count(session, StockMovement) == 2

    page = client.get(received.headers["location"])
    assert page.status_code == 200
    assert f'<tr data-sku-code="{sku.code}">' in page.text
    assert '<td class="number" data-stat="available">17</td>' in page.text
    assert "过期报损" in page.text
    assert stock.audit(session) == []
    assert audit_actions(session) == ["stock.receive", "stock.adjust"]


def test_every_catalog_message_exists_in_both_languages() -> None:
    chinese, english = i18n.catalog("zh-CN"), i18n.catalog("en")
    literal = re.compile(r"""\bt\(\s*["']([a-z][\w.\-]*\w)["']\s*[,)]""")
    sources = [
        *TEMPLATES_DIR.glob("catalog_*.html"),
        *TEMPLATES_DIR.glob("partials/catalog_*.html"),
        *TEMPLATES_DIR.parent.glob("catalog_*.py"),
    ]
    used = {key for source in sources for key in literal.findall(source.read_text("utf-8"))}
    # Keys the catalog templates build from data.
    used |= {f"catalog.status.{s.value}" for s in ProductStatus}
    used |= {f"catalog.status.to.{s.value}" for s in (ProductStatus.ON_SALE, ProductStatus.OFF)}
    used |= {f"catalog.kind.{kind.value}" for kind in LocationKind}
    used |= {f"catalog.movement.{kind.value}" for kind in StockMovementKind}
    used |= {f"catalog.channels.{choice}" for choice in CHANNEL_CHOICES}
    used |= {f"catalog.stock.done.{done}" for done in ("receive", "adjust")}
    used |= {
        f"catalog.location.{name}"
        for name in ("address", "phone", "opening_hours", "latitude", "longitude")
    }
    assert len(used) > 100
    assert sorted(used - set(chinese)) == []
    assert sorted(key for key in chinese if key.startswith("catalog.")) == sorted(
        key for key in english if key.startswith("catalog.")
    )
