"""Catalog rules in the services: products with SKUs, status, categories, locations,
store prices. Every refused change leaves the rows as they were."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import categories, locations, products, stock, store_prices
from siyu.catalog.catalog_errors import InvalidStatusChange
from siyu.catalog.errors import CatalogConflict, InvalidCatalogInput
from siyu.catalog.schemas import (
    CategoryIn,
    CategoryUpdate,
    LocationIn,
    LocationUpdate,
    ProductIn,
    ProductUpdate,
    SkuIn,
    StorePriceIn,
)
from siyu.models.catalog import Category, Product, ProductStatus, Sku, StorePrice
from siyu.models.location import Location
from siyu.staff.principal import command_line_principal
from tests.catalog.factories import (
    audit_actions,
    count,
    make_location,
    make_product,
    make_sku,
    put_stock,
)

ACTOR = command_line_principal("tester")


def sku(code: str, colour: str, size: str = "3.5g", **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "specs": {"颜色": colour, "规格": size},
        "list_price": 32000,
        "sale_price": 28800,
        **overrides,
    }


def product_in(**overrides: Any) -> ProductIn:
    data: dict[str, Any] = {
        "code": "LIP-001",
        "name": "丝绒口红",
        "spec_names": ["颜色", "规格"],
        "skus": [sku("LIP-001-RED", "正红"), sku("LIP-001-PINK", "豆沙")],
        **overrides,
    }
    return ProductIn.model_validate(data)


def test_create_product_with_skus_is_a_draft_and_audited(session: Session) -> None:
    product = products.create_product(session, ACTOR, product_in())

    assert product.status == ProductStatus.DRAFT
    assert product.spec_names == ["颜色", "规格"]
    skus = products.skus_of(session, product.id)
    assert [(s.code, s.specs, s.sale_price, s.channels) for s in skus] == [
        ("LIP-001-RED", {"颜色": "正红", "规格": "3.5g"}, 28800, ["mall", "store"]),
        ("LIP-001-PINK", {"颜色": "豆沙", "规格": "3.5g"}, 28800, ["mall", "store"]),
    ]
    assert audit_actions(session) == ["catalog.product.create"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"skus": [sku("A1", "正红") | {"specs": {"颜色": "正红"}}]}, "specs"),
        (
            {"skus": [sku("A1", "正红") | {"specs": {"颜色": "正红", "规格": "", "x": "1"}}]},
            "specs",
        ),
        ({"skus": [sku("A1", "正红", sale_price=40000)]}, "sale_price"),
        ({"skus": [sku("A1", "正红", channels=[])]}, "channels"),
        ({"spec_names": ["颜色", "颜色"]}, "spec_names"),
        ({"images": ["javascript:alert(1)"]}, "images"),
        ({"category_id": 999_999}, "category_id"),
    ],
)
def test_invalid_products_are_refused_and_nothing_is_written(
    session: Session, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidCatalogInput) as refused:
        products.create_product(session, ACTOR, product_in(**overrides))
    assert refused.value.data["field"] == field
    assert (count(session, Product), count(session, Sku)) == (0, 0)
    assert audit_actions(session) == []


def test_codes_and_spec_combinations_are_unique(session: Session) -> None:
    products.create_product(session, ACTOR, product_in())

    with pytest.raises(CatalogConflict) as same_product_code:
        products.create_product(session, ACTOR, product_in(skus=[sku("OTHER-1", "正红")]))
    assert same_product_code.value.data == {"field": "code", "code": "LIP-001"}
    with pytest.raises(CatalogConflict) as same_sku_code:
        products.create_product(
            session, ACTOR, product_in(code="LIP-002", skus=[sku("LIP-001-RED", "正红")])
        )
    assert same_sku_code.value.data == {"field": "sku_code", "codes": ["LIP-001-RED"]}
    with pytest.raises(CatalogConflict) as same_specs:
        products.create_product(
            session,
            ACTOR,
            product_in(code="LIP-002", skus=[sku("B1", "正红"), sku("B2", "正红")]),
        )
    assert same_specs.value.data == {"field": "specs"}
    assert (count(session, Product), count(session, Sku)) == (1, 2)
    assert same_specs.value.status == 409


def test_sale_price_may_equal_list_price_and_zero_is_allowed(session: Session) -> None:
    product = products.create_product(
        session,
        ACTOR,
        product_in(
            skus=[
                sku("G1", "赠品", list_price=0, sale_price=0),
                sku("F1", "正红", sale_price=32000),
            ]
        ),
    )
    assert [s.sale_price for s in products.skus_of(session, product.id)] == [0, 32000]


def test_update_replaces_the_sku_list_and_switches_off_those_left_out(session: Session) -> None:
    product = products.create_product(session, ACTOR, product_in())
    red, pink = products.skus_of(session, product.id)

    products.update_product(
        session,
        ACTOR,
        product.id,
        ProductUpdate.model_validate(
            {
                "name": "丝绒口红 新版",
                "skus": [
                    sku("LIP-001-RED", "正红", sale_price=26000) | {"id": red.id},
                    sku("LIP-001-NUDE", "裸色"),
                ],
            }
        ),
    )

    rows = {s.code: s for s in products.skus_of(session, product.id)}
    assert product.name == "丝绒口红 新版"
    assert (rows["LIP-001-RED"].id, rows["LIP-001-RED"].sale_price) == (red.id, 26000)
    assert rows["LIP-001-PINK"].is_active is False
    assert rows["LIP-001-NUDE"].is_active is True
    assert audit_actions(session)[-1] == "catalog.product.update"


def test_refused_update_changes_nothing(session: Session) -> None:
    product = products.create_product(session, ACTOR, product_in())
    red, _pink = products.skus_of(session, product.id)
    stranger = make_sku(session, product=make_product(session), specs={"颜色": "x"})

    for body in (
        {"name": "改名", "skus": [sku("LIP-001-RED", "正红", sale_price=99999) | {"id": red.id}]},
        {"name": "改名", "skus": [sku("NEW", "正红") | {"id": stranger.id}]},
        {"name": "改名", "spec_names": ["颜色", "规格", "香型"]},
    ):
        with pytest.raises(InvalidCatalogInput):
            products.update_product(session, ACTOR, product.id, ProductUpdate.model_validate(body))
        session.refresh(product)
        session.refresh(red)
        assert product.name == "丝绒口红"
        assert red.sale_price == 28800
    assert audit_actions(session) == ["catalog.product.create"]


def test_status_moves_draft_on_sale_off_and_never_back_to_draft(session: Session) -> None:
    product = products.create_product(session, ACTOR, product_in())

    assert (
        products.change_status(session, ACTOR, product.id, ProductStatus.ON_SALE).status
        == "on_sale"
    )
    assert products.change_status(session, ACTOR, product.id, ProductStatus.OFF).status == "off"
    assert (
        products.change_status(session, ACTOR, product.id, ProductStatus.ON_SALE).status
        == "on_sale"
    )
    with pytest.raises(InvalidStatusChange) as refused:
        products.change_status(session, ACTOR, product.id, ProductStatus.DRAFT)
    assert refused.value.data == {"from": "on_sale", "to": "draft"}
    assert refused.value.status == 409
    assert product.status == "on_sale"


def test_going_on_sale_needs_an_active_sku(session: Session) -> None:
    product = make_product(session, status=ProductStatus.DRAFT)
    make_sku(session, product=product, is_active=False)

    with pytest.raises(InvalidCatalogInput):
        products.change_status(session, ACTOR, product.id, ProductStatus.ON_SALE)
    assert product.status == "draft"


def test_store_price_is_capped_by_the_list_price_and_guards_list_price_changes(
    session: Session,
) -> None:
    product = products.create_product(session, ACTOR, product_in())
    red, _pink = products.skus_of(session, product.id)
    store = make_location(session)

    with pytest.raises(InvalidCatalogInput):
        store_prices.set_store_price(session, ACTOR, red.id, store.id, StorePriceIn(price=32001))
    row = store_prices.set_store_price(session, ACTOR, red.id, store.id, StorePriceIn(price=30000))
    again = store_prices.set_store_price(
        session, ACTOR, red.id, store.id, StorePriceIn(price=25000, is_listed=False)
    )
    assert (again.id, again.price, again.is_listed) == (row.id, 25000, False)

    with pytest.raises(InvalidCatalogInput) as refused:
        products.update_product(
            session,
            ACTOR,
            product.id,
            ProductUpdate(
                skus=[
                    SkuIn.model_validate(
                        sku("LIP-001-RED", "正红", list_price=20000, sale_price=20000)
                        | {"id": red.id}
                    )
                ]
            ),
        )
    assert refused.value.data["field"] == "list_price"
    store_prices.delete_store_price(session, ACTOR, red.id, store.id)
    assert count(session, StorePrice) == 0


def test_category_tree_rules(session: Session) -> None:
    face = categories.create_category(session, ACTOR, CategoryIn(name="彩妆"))
    lips = categories.create_category(session, ACTOR, CategoryIn(name="唇部", parent_id=face.id))

    with pytest.raises(CatalogConflict):
        categories.create_category(session, ACTOR, CategoryIn(name="彩妆"))
    with pytest.raises(InvalidCatalogInput):
        categories.update_category(session, ACTOR, face.id, CategoryUpdate(parent_id=lips.id))
    with pytest.raises(CatalogConflict):
        categories.delete_category(session, ACTOR, face.id)
    moved = categories.update_category(session, ACTOR, lips.id, CategoryUpdate(parent_id=None))
    assert moved.parent_id is None
    categories.delete_category(session, ACTOR, face.id)
    assert [c.name for c in session.scalars(select(Category))] == ["唇部"]
    assert audit_actions(session) == [
        "catalog.category.create",
        "catalog.category.create",
        "catalog.category.update",
        "catalog.category.delete",
    ]


def test_location_rules(session: Session) -> None:
    store = locations.create_location(
        session,
        ACTOR,
        LocationIn(code="SH01", name="上海来福士店", latitude=31.23, longitude=121.47),
    )
    with pytest.raises(CatalogConflict):
        locations.create_location(session, ACTOR, LocationIn(code="SH01", name="重复"))
    with pytest.raises(InvalidCatalogInput):
        locations.create_location(
            session, ACTOR, LocationIn(code="SH02", name="半个坐标", latitude=31.0)
        )
    with pytest.raises(InvalidCatalogInput):
        locations.update_location(session, ACTOR, store.id, LocationUpdate(longitude=None))

    put_stock(
        session, sku=make_sku(session, product=make_product(session)), location=store, quantity=1
    )
    with pytest.raises(CatalogConflict):
        locations.delete_location(session, ACTOR, store.id)
    off = locations.update_location(session, ACTOR, store.id, LocationUpdate(is_active=False))
    assert off.is_active is False
    empty = make_location(session)
    locations.delete_location(session, ACTOR, empty.id)
    assert session.get(Location, empty.id) is None
    assert stock.audit(session) == []
