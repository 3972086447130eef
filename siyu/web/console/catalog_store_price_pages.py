"""Console page for per-store prices and assortment (千店千面) of one product.

A table per SKU with one row per store: the store's own price (or "—" when the store
uses the sale price) and whether the store lists the SKU. Every write goes through
``siyu.catalog.store_prices``, which checks the store and the list price and writes
the audit row, exactly as the operator API does; the page needs ``catalog.manage``
and the form's CSRF token. A failed write re-renders the page with the message in
the row it concerns and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import locations, products, store_prices
from siyu.catalog.errors import CatalogNotFound, InvalidCatalogInput
from siyu.catalog.params import PathId
from siyu.catalog.schemas import MAX_ID, StorePriceIn
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.catalog import Product, Sku, StorePrice
from siyu.models.location import Location, LocationKind
from siyu.staff.permissions import Permission
from siyu.web.console.catalog_forms import catalog_error_message, format_yuan, parse_yuan
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.staff_pages import attempt
from siyu.web.i18n import Translator
from siyu.web.money import display_yuan

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.CATALOG_MANAGE))]
FormId = Annotated[int, Form(ge=1, le=MAX_ID)]
PRODUCTS_PATH = "/console/catalog/products"
ACTIVE = "catalog"
DONE = ("set", "delist", "relist", "remove")


@dataclass(frozen=True)
class StoreRow:
    store: Location
    override: StorePrice | None


@dataclass(frozen=True)
class SkuPrices:
    sku: Sku
    rows: list[StoreRow]


@dataclass(frozen=True)
class Failure:
    """A write that did not happen: where it was aimed, why, and what was typed."""

    sku_id: int
    location_id: int
    message: str
    typed: str = ""


def _path(product_id: int) -> str:
    return f"{PRODUCTS_PATH}/{product_id}/store-prices"


def _sku_of(session: Session, product: Product, sku_id: int) -> Sku:
    """The SKU, which must belong to this product (a form may only touch its own page)."""
    sku = session.get(Sku, sku_id)
    if sku is None or sku.product_id != product.id:
        raise CatalogNotFound(data={"sku_id": sku_id})
    return sku


def _override(session: Session, sku_id: int, location_id: int) -> StorePrice | None:
    return session.scalar(
        select(StorePrice).where(StorePrice.sku_id == sku_id, StorePrice.location_id == location_id)
    )


def _error_message(t: Translator, error: SiyuError) -> str:
    field_name = error.data.get("field")
    if error.code == InvalidCatalogInput.code and field_name == "price":
        list_price = error.data.get("list_price")
        if isinstance(list_price, int):
            return t("catalog.store_price.above_list", list_price=display_yuan(list_price))
    if error.code == InvalidCatalogInput.code and field_name == "location_id":
        return t("catalog.store_price.not_a_store")
    return catalog_error_message(t, error)


def _price_table(session: Session, product: Product) -> list[SkuPrices]:
    stores = locations.list_locations(session, kind=LocationKind.STORE)
    tables = []
    for sku in products.skus_of(session, product.id):
        overrides = {
            row.location_id: row for row in store_prices.list_store_prices(session, sku.id)
        }
        rows = [StoreRow(store=store, override=overrides.get(store.id)) for store in stores]
        tables.append(SkuPrices(sku=sku, rows=rows))
    return tables


def _page(
    page: ConsolePage,
    session: Session,
    product: Product,
    *,
    flash: tuple[str, str] | None = None,
    failure: Failure | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "catalog_store_prices.html",
        active=ACTIVE,
        status=status,
        product=product,
        tables=_price_table(session, product),
        flash=flash,
        failure=failure,
        format_yuan=format_yuan,
        display_yuan=display_yuan,
    )


@router.get(PRODUCTS_PATH + "/{product_id}/store-prices")
def store_price_page(
    product_id: PathId,
    page: ManagePage,
    session: SessionDep,
    done: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    product = products.get_product(session, product_id)
    flash = ("success", page.t(f"catalog.store_price.done.{done}")) if done in DONE else None
    return _page(page, session, product, flash=flash)


def _outcome(
    page: ConsolePage,
    session: Session,
    product: Product,
    write: Failure,
    done: str,
    action: Callable[[], object],
) -> Response:
    outcome = attempt(session, action)
    if isinstance(outcome, SiyuError):
        message = _error_message(page.t, outcome)
        failure = Failure(write.sku_id, write.location_id, message, write.typed)
        return _page(
            page, session, product, flash=("error", message), failure=failure, status=outcome.status
        )
    return RedirectResponse(f"{_path(product.id)}?done={done}#sku-{write.sku_id}", status_code=303)


@router.post(PRODUCTS_PATH + "/{product_id}/store-prices/set")
def store_price_set(
    product_id: PathId,
    page: ManagePage,
    session: SessionDep,
    sku_id: FormId,
    location_id: FormId,
    price: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    product = products.get_product(session, product_id)

    def set_price() -> StorePrice:
        sku = _sku_of(session, product, sku_id)
        fen = parse_yuan(price, field_name="price")
        existing = _override(session, sku.id, location_id)
        # Changing the price leaves the store's listing as it was.
        listed = existing.is_listed if existing is not None else True
        data = StorePriceIn(price=fen, is_listed=listed)
        return store_prices.set_store_price(session, page.principal, sku.id, location_id, data)

    write = Failure(sku_id, location_id, "", price)
    return _outcome(page, session, product, write, "set", set_price)


@router.post(PRODUCTS_PATH + "/{product_id}/store-prices/listing")
def store_price_listing(
    product_id: PathId,
    page: ManagePage,
    session: SessionDep,
    sku_id: FormId,
    location_id: FormId,
    listed: Annotated[str, Form(max_length=1, pattern="^[01]$")],
) -> Response:
    product = products.get_product(session, product_id)
    is_listed = listed == "1"

    def change_listing() -> StorePrice:
        sku = _sku_of(session, product, sku_id)
        existing = _override(session, sku.id, location_id)
        # The row must carry a price; a store without its own keeps the sale price,
        # so de-listing alone never changes what the SKU costs there.
        fen = existing.price if existing is not None else sku.sale_price
        data = StorePriceIn(price=fen, is_listed=is_listed)
        return store_prices.set_store_price(session, page.principal, sku.id, location_id, data)

    write = Failure(sku_id, location_id, "")
    return _outcome(
        page, session, product, write, "relist" if is_listed else "delist", change_listing
    )


@router.post(PRODUCTS_PATH + "/{product_id}/store-prices/remove")
def store_price_remove(
    product_id: PathId,
    page: ManagePage,
    session: SessionDep,
    sku_id: FormId,
    location_id: FormId,
) -> Response:
    product = products.get_product(session, product_id)

    def remove() -> None:
        sku = _sku_of(session, product, sku_id)
        store_prices.delete_store_price(session, page.principal, sku.id, location_id)

    write = Failure(sku_id, location_id, "")
    return _outcome(page, session, product, write, "remove", remove)
