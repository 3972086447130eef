"""Consumer catalog reads under /api/shop/v1: anonymous, read-only.

Browsing needs no customer session, as in a mini program before sign-in. What is
shown, and at what price, is decided in ``siyu.catalog.storefront``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from siyu.catalog import paging, storefront
from siyu.catalog.params import PathId, QueryId, RequiredQueryId
from siyu.catalog.schemas import MAX_ID
from siyu.catalog.shop_schemas import (
    ShopAvailabilityList,
    ShopCategoryList,
    ShopProductDetail,
    ShopProductPage,
    ShopStoreList,
)
from siyu.core.http import SessionDep

router = APIRouter(prefix="/api/shop/v1", tags=["storefront"])

Latitude = Annotated[float | None, Query(alias="lat", description="WGS-84 latitude")]
Longitude = Annotated[float | None, Query(alias="lng", description="WGS-84 longitude")]
StoreId = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="A store's context: its prices and its assortment apply"),
]


@router.get("/categories", response_model=ShopCategoryList)
def categories(session: SessionDep) -> ShopCategoryList:
    return storefront.shop_categories(session)


@router.get("/products", response_model=ShopProductPage)
def products(
    session: SessionDep,
    category_id: QueryId = None,
    q: Annotated[str, Query(max_length=100)] = "",
    store_id: StoreId = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ShopProductPage:
    return storefront.list_products(
        session, category_id=category_id, q=q, store_id=store_id, limit=limit, cursor=cursor
    )


@router.get("/products/{product_id}", response_model=ShopProductDetail)
def product(product_id: PathId, session: SessionDep, store_id: StoreId = None) -> ShopProductDetail:
    return storefront.product_detail(session, product_id, store_id=store_id)


@router.get("/products/{product_id}/availability", response_model=ShopAvailabilityList)
def product_availability(
    product_id: PathId,
    session: SessionDep,
    sku_id: RequiredQueryId,
    quantity: int = 1,
    latitude: Latitude = None,
    longitude: Longitude = None,
) -> ShopAvailabilityList:
    return storefront.product_availability(
        session,
        product_id,
        sku_id=sku_id,
        quantity=quantity,
        latitude=latitude,
        longitude=longitude,
    )


@router.get("/stores", response_model=ShopStoreList)
def stores(
    session: SessionDep, latitude: Latitude = None, longitude: Longitude = None
) -> ShopStoreList:
    return storefront.stores(session, latitude=latitude, longitude=longitude)
