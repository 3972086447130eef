"""Operator catalog API under /api/v1/catalog: categories, products with SKUs, store
prices and locations. Stock routes live in ``stock_api`` and are included here, so
``router`` is the one object to mount.

Everything needs ``catalog.manage`` except stock levels and store availability, which
store staff (``orders.read``) read too. Routes parse, authorize, call the service and
shape; audit rows are written by the services in the same transaction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from siyu.catalog import categories, locations, paging, products, stock_api, store_prices
from siyu.catalog.params import PathId, QueryId
from siyu.catalog.schemas import (
    CategoryIn,
    CategoryList,
    CategoryOut,
    CategoryUpdate,
    LocationIn,
    LocationList,
    LocationOut,
    LocationUpdate,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductSummaryOut,
    ProductUpdate,
    SkuOut,
    StatusChange,
    StorePriceIn,
    StorePriceList,
    StorePriceOut,
)
from siyu.core.http import SessionDep
from siyu.models.catalog import Product, ProductStatus
from siyu.models.location import LocationKind
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
router.include_router(stock_api.router)

Manager = Annotated[Principal, Depends(require(Permission.CATALOG_MANAGE))]


def product_out(session: Session, product: Product) -> ProductOut:
    return ProductOut(
        id=product.id,
        code=product.code,
        name=product.name,
        subtitle=product.subtitle,
        category_id=product.category_id,
        status=product.status,
        description=product.description,
        images=list(product.images or []),
        spec_names=list(product.spec_names or []),
        sort_weight=product.sort_weight,
        created_at=product.created_at,
        updated_at=product.updated_at,
        skus=[SkuOut.model_validate(sku) for sku in products.skus_of(session, product.id)],
    )


# Categories


@router.get("/categories", response_model=CategoryList)
def list_categories(session: SessionDep, _principal: Manager) -> CategoryList:
    return CategoryList(
        items=[CategoryOut.model_validate(c) for c in categories.list_categories(session)]
    )


@router.post("/categories", response_model=CategoryOut, status_code=201)
def create_category(session: SessionDep, principal: Manager, body: CategoryIn) -> CategoryOut:
    return CategoryOut.model_validate(categories.create_category(session, principal, body))


@router.patch("/categories/{category_id}", response_model=CategoryOut)
def update_category(
    category_id: PathId, session: SessionDep, principal: Manager, body: CategoryUpdate
) -> CategoryOut:
    category = categories.update_category(session, principal, category_id, body)
    return CategoryOut.model_validate(category)


@router.delete("/categories/{category_id}", status_code=204)
def delete_category(category_id: PathId, session: SessionDep, principal: Manager) -> Response:
    categories.delete_category(session, principal, category_id)
    return Response(status_code=204)


# Products and SKUs


@router.get("/products", response_model=ProductPage)
def list_products(
    session: SessionDep,
    _principal: Manager,
    q: Annotated[str, Query(max_length=products.MAX_QUERY_LENGTH)] = "",
    status: ProductStatus | None = None,
    category_id: QueryId = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ProductPage:
    filters = products.ProductFilter(q=q, status=status, category_id=category_id)
    found, next_cursor = products.list_products(session, filters, limit=limit, cursor=cursor)
    return ProductPage(
        items=[
            ProductSummaryOut(
                id=item.product.id,
                code=item.product.code,
                name=item.product.name,
                category_id=item.product.category_id,
                status=item.product.status,
                sku_count=item.sku_count,
                min_sale_price=item.min_sale_price,
                updated_at=item.product.updated_at,
            )
            for item in found
        ],
        next_cursor=next_cursor,
    )


@router.post("/products", response_model=ProductOut, status_code=201)
def create_product(session: SessionDep, principal: Manager, body: ProductIn) -> ProductOut:
    return product_out(session, products.create_product(session, principal, body))


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: PathId, session: SessionDep, _principal: Manager) -> ProductOut:
    return product_out(session, products.get_product(session, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut)
def update_product(
    product_id: PathId, session: SessionDep, principal: Manager, body: ProductUpdate
) -> ProductOut:
    return product_out(session, products.update_product(session, principal, product_id, body))


@router.post("/products/{product_id}/status", response_model=ProductOut)
def change_status(
    product_id: PathId, session: SessionDep, principal: Manager, body: StatusChange
) -> ProductOut:
    product = products.change_status(session, principal, product_id, body.status)
    return product_out(session, product)


# Per-store prices (千店千面)


@router.get("/skus/{sku_id}/store-prices", response_model=StorePriceList)
def list_store_prices(sku_id: PathId, session: SessionDep, _principal: Manager) -> StorePriceList:
    return StorePriceList(
        items=[
            StorePriceOut.model_validate(row)
            for row in store_prices.list_store_prices(session, sku_id)
        ]
    )


@router.put("/skus/{sku_id}/store-prices/{location_id}", response_model=StorePriceOut)
def set_store_price(
    sku_id: PathId, location_id: PathId, session: SessionDep, principal: Manager, body: StorePriceIn
) -> StorePriceOut:
    row = store_prices.set_store_price(session, principal, sku_id, location_id, body)
    return StorePriceOut.model_validate(row)


@router.delete("/skus/{sku_id}/store-prices/{location_id}", status_code=204)
def delete_store_price(
    sku_id: PathId, location_id: PathId, session: SessionDep, principal: Manager
) -> Response:
    store_prices.delete_store_price(session, principal, sku_id, location_id)
    return Response(status_code=204)


# Locations


@router.get("/locations", response_model=LocationList)
def list_locations(
    session: SessionDep, _principal: Manager, kind: LocationKind | None = None
) -> LocationList:
    return LocationList(
        items=[
            LocationOut.model_validate(location)
            for location in locations.list_locations(session, kind=kind)
        ]
    )


@router.post("/locations", response_model=LocationOut, status_code=201)
def create_location(session: SessionDep, principal: Manager, body: LocationIn) -> LocationOut:
    return LocationOut.model_validate(locations.create_location(session, principal, body))


@router.get("/locations/{location_id}", response_model=LocationOut)
def get_location(location_id: PathId, session: SessionDep, _principal: Manager) -> LocationOut:
    return LocationOut.model_validate(locations.get_location(session, location_id))


@router.patch("/locations/{location_id}", response_model=LocationOut)
def update_location(
    location_id: PathId, session: SessionDep, principal: Manager, body: LocationUpdate
) -> LocationOut:
    location = locations.update_location(session, principal, location_id, body)
    return LocationOut.model_validate(location)


@router.delete("/locations/{location_id}", status_code=204)
def delete_location(location_id: PathId, session: SessionDep, principal: Manager) -> Response:
    locations.delete_location(session, principal, location_id)
    return Response(status_code=204)
