"""Console pages of the catalog (商品): products with SKUs, status, categories.

Every page and write needs ``catalog.manage``; the rules and audit rows live in the
catalog services. Forms post and redirect, so the pages work without JavaScript;
htmx only adds a blank SKU row in place. Locations and stock are in
``catalog_stock_pages``, whose routes this module's ``router`` includes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.catalog import categories, products
from siyu.catalog.catalog_errors import InvalidCursor
from siyu.catalog.errors import InvalidCatalogInput
from siyu.catalog.params import PathId
from siyu.catalog.schemas import CategoryIn, CategoryUpdate
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.catalog import Category, Product, ProductStatus
from siyu.staff.permissions import Permission
from siyu.web.console import catalog_stock_pages, catalog_store_price_pages
from siyu.web.console.catalog_forms import (
    CHANNEL_CHOICES,
    ProductForm,
    SkuRow,
    catalog_error_message,
    format_yuan,
    parse_id,
    parse_whole,
    product_in,
    product_update,
    rows_from,
)
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.staff_pages import attempt

router = APIRouter()
router.include_router(catalog_stock_pages.router)
router.include_router(catalog_store_price_pages.router)

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.CATALOG_MANAGE))]
LIST_PATH = "/console/catalog"
PRODUCTS_PATH = LIST_PATH + "/products"
CATEGORIES_PATH = LIST_PATH + "/categories"
ACTIVE = "catalog"
STATUSES = [status.value for status in ProductStatus]
PAGE_SIZE = 50


def _field_of(error: SiyuError) -> str | None:
    value = error.data.get("field")
    return value if isinstance(value, str) else None


@router.get(LIST_PATH)
def product_list(
    page: ManagePage,
    session: SessionDep,
    q: Annotated[str, Query(max_length=products.MAX_QUERY_LENGTH)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    category_id: Annotated[str, Query(max_length=20)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    filters = products.ProductFilter(
        q=q,
        status=ProductStatus(status) if status in STATUSES else None,
        category_id=parse_id(category_id),
    )
    try:
        found, next_cursor = products.list_products(
            session, filters, limit=PAGE_SIZE, cursor=cursor or None
        )
    except InvalidCursor:
        found, next_cursor = products.list_products(session, filters, limit=PAGE_SIZE)
    return page.render(
        "catalog_products.html",
        active=ACTIVE,
        items=found,
        next_cursor=next_cursor,
        q=q,
        status_filter=status,
        category_id=category_id,
        statuses=STATUSES,
        categories=categories.list_categories(session),
        format_yuan=format_yuan,
    )


def _form_page(
    page: ConsolePage,
    session: Session,
    form: ProductForm,
    *,
    product: Product | None = None,
    flash: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "catalog_product_form.html",
        active=ACTIVE,
        status=status,
        form=form,
        product=product,
        flash=flash,
        categories=categories.list_categories(session),
        channel_choices=CHANNEL_CHOICES,
        statuses=STATUSES,
        next_statuses=(
            sorted(products.ALLOWED_TRANSITIONS[ProductStatus(product.status)])
            if product is not None
            else []
        ),
    )


def _with_error(page: ConsolePage, form: ProductForm, error: SiyuError) -> ProductForm:
    form.error = catalog_error_message(page.t, error)
    form.error_field = _field_of(error)
    return form


@router.get(PRODUCTS_PATH + "/new")
def product_new(page: ManagePage, session: SessionDep) -> HTMLResponse:
    return _form_page(page, session, ProductForm())


@router.get(PRODUCTS_PATH + "/sku-row")
def product_sku_row(page: ManagePage) -> HTMLResponse:
    """One blank SKU row for htmx to append to the table."""
    return page.render(
        "partials/catalog_sku_row.html",
        active=ACTIVE,
        row=SkuRow(),
        channel_choices=CHANNEL_CHOICES,
    )


FormText = Annotated[str, Form(max_length=200)]
FormLong = Annotated[str, Form(max_length=20_000)]
FormList = Annotated[list[str], Form()]


def submitted_product_form(
    code: FormText = "",
    name: FormText = "",
    subtitle: FormText = "",
    category_id: FormText = "",
    spec_names: FormText = "",
    images: FormLong = "",
    description: FormLong = "",
    sort_weight: FormText = "0",
    sku_id: FormList | None = None,
    sku_code: FormList | None = None,
    sku_specs: FormList | None = None,
    sku_list_price: FormList | None = None,
    sku_sale_price: FormList | None = None,
    sku_channels: FormList | None = None,
    sku_active: FormList | None = None,
) -> ProductForm:
    """The product form as posted (create and edit post the same fields)."""
    rows = rows_from(
        sku_id or [],
        sku_code or [],
        sku_specs or [],
        sku_list_price or [],
        sku_sale_price or [],
        sku_channels or [],
        sku_active or [],
    )
    return ProductForm(
        code=code,
        name=name,
        subtitle=subtitle,
        category_id=category_id,
        spec_names=spec_names,
        images=images,
        description=description,
        sort_weight=sort_weight,
        rows=rows or [SkuRow()],
    )


SubmittedForm = Annotated[ProductForm, Depends(submitted_product_form)]


@router.post(PRODUCTS_PATH + "/new")
def product_create(
    page: ManagePage,
    session: SessionDep,
    form: SubmittedForm,
) -> Response:
    outcome = attempt(
        session, lambda: products.create_product(session, page.principal, product_in(form))
    )
    if isinstance(outcome, SiyuError):
        form = _with_error(page, form, outcome)
        return _form_page(page, session, form, status=outcome.status)
    return RedirectResponse(f"{PRODUCTS_PATH}/{outcome.id}?created=1", status_code=303)


@router.get(PRODUCTS_PATH + "/{product_id}")
def product_edit(
    product_id: PathId, page: ManagePage, session: SessionDep, created: int = 0, saved: int = 0
) -> HTMLResponse:
    product = products.get_product(session, product_id)
    flash = None
    if created:
        flash = ("success", page.t("catalog.product.created", name=product.name))
    elif saved:
        flash = ("success", page.t("catalog.saved"))
    form = ProductForm.of(product, products.skus_of(session, product.id))
    return _form_page(page, session, form, product=product, flash=flash)


@router.post(PRODUCTS_PATH + "/{product_id}")
def product_save(
    product_id: PathId,
    page: ManagePage,
    session: SessionDep,
    form: SubmittedForm,
) -> Response:
    product = products.get_product(session, product_id)
    outcome = attempt(
        session,
        lambda: products.update_product(session, page.principal, product.id, product_update(form)),
    )
    if isinstance(outcome, SiyuError):
        session.refresh(product)
        form = _with_error(page, form, outcome)
        return _form_page(page, session, form, product=product, status=outcome.status)
    return RedirectResponse(f"{PRODUCTS_PATH}/{product.id}?saved=1", status_code=303)


@router.post(PRODUCTS_PATH + "/{product_id}/status")
def product_status(
    product_id: PathId,
    page: ManagePage,
    session: SessionDep,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    product = products.get_product(session, product_id)

    def change() -> Product:
        if status not in STATUSES:
            raise InvalidCatalogInput(data={"field": "status"})
        return products.change_status(session, page.principal, product.id, ProductStatus(status))

    outcome = attempt(session, change)
    if isinstance(outcome, SiyuError):
        session.refresh(product)
        form = ProductForm.of(product, products.skus_of(session, product.id))
        flash = ("error", catalog_error_message(page.t, outcome))
        return _form_page(page, session, form, product=product, flash=flash, status=outcome.status)
    return RedirectResponse(f"{PRODUCTS_PATH}/{product.id}?saved=1", status_code=303)


@dataclass(frozen=True)
class CategoryEdit:
    """A rename or move that failed: which row, what was typed, and why."""

    category_id: int
    name: str
    parent_id: str
    error: str


def _subtrees(found: list[Category]) -> dict[int, set[int]]:
    """Each category with all below it: none of them may become its parent."""
    children: dict[int | None, list[int]] = {}
    for category in found:
        children.setdefault(category.parent_id, []).append(category.id)
    subtrees: dict[int, set[int]] = {}
    for category in found:
        seen: set[int] = set()
        pending = [category.id]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(children.get(current, []))
        subtrees[category.id] = seen
    return subtrees


def _categories_page(
    page: ConsolePage,
    session: Session,
    *,
    flash: tuple[str, str] | None = None,
    name: str = "",
    edit: CategoryEdit | None = None,
    status: int = 200,
) -> HTMLResponse:
    found = categories.list_categories(session)
    return page.render(
        "catalog_categories.html",
        active=ACTIVE,
        status=status,
        categories=found,
        subtrees=_subtrees(found),
        flash=flash,
        name=name,
        edit=edit,
    )


@router.get(CATEGORIES_PATH)
def category_list(page: ManagePage, session: SessionDep, saved: int = 0) -> HTMLResponse:
    flash = ("success", page.t("catalog.saved")) if saved else None
    return _categories_page(page, session, flash=flash)


@router.post(CATEGORIES_PATH)
def category_create(
    page: ManagePage,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    parent_id: Annotated[str, Form(max_length=20)] = "",
    sort_order: Annotated[str, Form(max_length=10)] = "0",
) -> Response:
    def create() -> object:
        try:
            data = CategoryIn(
                name=name.strip(),
                parent_id=parse_id(parent_id),
                sort_order=parse_whole(sort_order or "0", field_name="sort_order"),
            )
        except ValidationError as invalid:
            raise InvalidCatalogInput(data={"field": "name"}) from invalid
        return categories.create_category(session, page.principal, data)

    outcome = attempt(session, create)
    if isinstance(outcome, SiyuError):
        flash = ("error", catalog_error_message(page.t, outcome))
        return _categories_page(page, session, flash=flash, name=name, status=outcome.status)
    return RedirectResponse(f"{CATEGORIES_PATH}?saved=1", status_code=303)


@router.post(CATEGORIES_PATH + "/{category_id}/delete")
def category_delete(category_id: PathId, page: ManagePage, session: SessionDep) -> Response:
    outcome = attempt(
        session, lambda: categories.delete_category(session, page.principal, category_id)
    )
    if isinstance(outcome, SiyuError):
        flash = ("error", catalog_error_message(page.t, outcome))
        return _categories_page(page, session, flash=flash, status=outcome.status)
    return RedirectResponse(f"{CATEGORIES_PATH}?saved=1", status_code=303)


@router.post(CATEGORIES_PATH + "/{category_id}")
def category_update(
    category_id: PathId,
    page: ManagePage,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    parent_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Rename and move in one form, with the rules of the API's PATCH (the service's)."""

    def update() -> Category:
        parent = parse_id(parent_id)
        # A blank choice means the top level; anything else must be a row id.
        if parent_id.strip() and parent is None:
            raise InvalidCatalogInput(data={"field": "parent_id"})
        try:
            data = CategoryUpdate(name=name.strip(), parent_id=parent)
        except ValidationError as invalid:
            location = invalid.errors()[0]["loc"]
            field_name = str(location[0]) if location else "name"
            raise InvalidCatalogInput(data={"field": field_name}) from invalid
        return categories.update_category(session, page.principal, category_id, data)

    outcome = attempt(session, update)
    if isinstance(outcome, SiyuError):
        message = catalog_error_message(page.t, outcome)
        edit = CategoryEdit(category_id, name, parent_id, message)
        return _categories_page(
            page, session, flash=("error", message), edit=edit, status=outcome.status
        )
    return RedirectResponse(f"{CATEGORIES_PATH}?saved=1", status_code=303)
