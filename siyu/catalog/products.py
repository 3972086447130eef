"""Products (SPU) with their SKUs: create, change, publish, list.

Rules, all checked before anything is written (bad input changes nothing):

* every active SKU gives exactly one non-empty value for each of the product's
  ``spec_names`` (no missing, no extra keys), and no two active SKUs of a product
  share the same combination;
* product codes and SKU codes are unique across the catalog → 409 ``catalog.conflict``;
* prices are integer fen ≥ 0 and ``sale_price ≤ list_price``: the list price is the
  crossed-out 划线价, and a "discount" dearer than it would mislead the customer
  (a store's own price obeys the same ceiling, see ``store_prices``);
* channels are a non-empty subset of {mall, store}, kept in that order;
* image addresses are http(s) URLs or paths on this site.

Status moves draft → on_sale → off → on_sale; nothing returns to draft (it has been
seen and perhaps ordered), and going on sale needs at least one active SKU.
SKUs are never deleted — order lines point at them — only switched off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.catalog import categories, paging
from siyu.catalog.catalog_errors import InvalidStatusChange
from siyu.catalog.errors import CatalogConflict, CatalogNotFound, InvalidCatalogInput
from siyu.catalog.schemas import ProductIn, ProductUpdate, SkuIn
from siyu.models.catalog import Product, ProductStatus, SalesChannel, Sku, StorePrice
from siyu.staff import audit
from siyu.staff.principal import Principal

MAX_SPEC_VALUE_LENGTH = 64
MAX_QUERY_LENGTH = 100
ALLOWED_TRANSITIONS: dict[ProductStatus, frozenset[ProductStatus]] = {
    ProductStatus.DRAFT: frozenset({ProductStatus.ON_SALE}),
    ProductStatus.ON_SALE: frozenset({ProductStatus.OFF}),
    ProductStatus.OFF: frozenset({ProductStatus.ON_SALE}),
}


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _invalid(message: str, **data: object) -> InvalidCatalogInput:
    return InvalidCatalogInput(message, data=dict(data))


def check_image_url(value: str, field: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    absolute = parts.scheme in {"http", "https"} and bool(parts.netloc)
    local = not parts.scheme and not parts.netloc and value.startswith("/")
    if not (absolute or local) or any(character.isspace() for character in value):
        raise _invalid("An image is an http(s) URL or a path starting with '/'.", field=field)
    return value


def normalise_spec_names(names: Sequence[str]) -> list[str]:
    result: list[str] = []
    for name in names:
        name = name.strip()
        if not name or len(name) > 32:
            raise _invalid("A spec name is 1–32 characters.", field="spec_names")
        if name in result:
            raise _invalid("Spec names must differ.", field="spec_names", name=name)
        result.append(name)
    return result


def normalise_channels(channels: Sequence[SalesChannel | str]) -> list[str]:
    given = {str(channel) for channel in channels}
    ordered: list[str] = [channel.value for channel in SalesChannel if channel.value in given]
    if not ordered or len(given) != len(ordered):
        raise _invalid("Choose the mall, the stores or both.", field="channels")
    return ordered


def _normalise_sku(data: SkuIn, spec_names: list[str], index: int) -> dict[str, object]:
    code = data.code.strip()
    if not code:
        raise _invalid("A SKU needs a code.", field="code", index=index)
    specs: dict[str, str] = {}
    for key, value in data.specs.items():
        specs[key.strip()] = value.strip()
    if data.is_active:
        if set(specs) != set(spec_names):
            raise _invalid(
                "Give exactly one value for each spec of the product.",
                field="specs",
                index=index,
                expected=spec_names,
            )
        if any(not value or len(value) > MAX_SPEC_VALUE_LENGTH for value in specs.values()):
            raise _invalid("A spec value is 1–64 characters.", field="specs", index=index)
    if data.sale_price > data.list_price:
        raise _invalid(
            "The sale price may not exceed the list price.", field="sale_price", index=index
        )
    return {
        "code": code,
        "specs": {name: specs[name] for name in spec_names if name in specs},
        "list_price": data.list_price,
        "sale_price": data.sale_price,
        "channels": normalise_channels(data.channels),
        "is_active": data.is_active,
        "per_order_limit": data.per_order_limit,
        "weight_grams": data.weight_grams,
        "image": check_image_url(data.image, "image") if data.image else None,
    }


def _check_product_code_free(session: Session, code: str, *, except_id: int | None) -> None:
    statement = select(Product.id).where(Product.code == code)
    if except_id is not None:
        statement = statement.where(Product.id != except_id)
    if session.scalar(statement) is not None:
        raise CatalogConflict(
            "That product code is already in use.", data={"field": "code", "code": code}
        )


def _check_sku_rows(session: Session, rows: list[dict[str, object]], ids: list[int | None]) -> None:
    """Codes unique in the request and in the catalog; spec combinations unique."""
    codes = [str(row["code"]) for row in rows]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise CatalogConflict(
            "Each SKU needs its own code.", data={"field": "sku_code", "codes": repeated}
        )
    own_ids = {sku_id for sku_id in ids if sku_id is not None}
    taken = session.scalars(
        select(Sku.code).where(Sku.code.in_(codes), Sku.id.not_in(own_ids or {-1}))
    ).all()
    if taken:
        raise CatalogConflict(
            "That SKU code is already in use.", data={"field": "sku_code", "codes": sorted(taken)}
        )
    combinations = [
        tuple(sorted(dict(row["specs"]).items()))  # type: ignore[call-overload]
        for row in rows
        if row["is_active"]
    ]
    if len(set(combinations)) != len(combinations):
        raise CatalogConflict("Two SKUs of a product have the same specs.", data={"field": "specs"})


def _flush(session: Session, *objects: object) -> None:
    # The savepoint turns a race on a unique code into the same 409 as the checks.
    try:
        with session.begin_nested():
            session.add_all(objects)
            session.flush()
    except IntegrityError as error:
        raise CatalogConflict("A product or SKU code is already in use.") from error


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise CatalogNotFound(data={"product_id": product_id})
    return product


def skus_of(session: Session, product_id: int) -> list[Sku]:
    return list(session.scalars(select(Sku).where(Sku.product_id == product_id).order_by(Sku.id)))


def get_sku(session: Session, sku_id: int) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise CatalogNotFound(data={"sku_id": sku_id})
    return sku


def create_product(session: Session, actor: Principal, data: ProductIn) -> Product:
    code = data.code.strip()
    name = data.name.strip()
    if not code or not name:
        raise _invalid("A product needs a code and a name.", field="code" if not code else "name")
    spec_names = normalise_spec_names(data.spec_names)
    rows = [_normalise_sku(sku, spec_names, index) for index, sku in enumerate(data.skus)]
    if any(sku.id is not None for sku in data.skus):
        raise _invalid("A new product's SKUs are new too: leave out their ids.", field="skus")
    categories.require_category(session, data.category_id)
    _check_product_code_free(session, code, except_id=None)
    _check_sku_rows(session, rows, [None] * len(rows))
    product = Product(
        code=code,
        name=name,
        subtitle=data.subtitle.strip(),
        category_id=data.category_id,
        status=ProductStatus.DRAFT.value,
        description=data.description,
        images=[check_image_url(image, "images") for image in data.images],
        spec_names=spec_names,
        sort_weight=data.sort_weight,
    )
    _flush(session, product)
    _flush(session, *[Sku(product_id=product.id, **row) for row in rows])
    audit.record(
        session,
        actor,
        "catalog.product.create",
        target_type="product",
        target_id=product.id,
        detail={"code": code, "name": name, "skus": [row["code"] for row in rows]},
    )
    return product


def update_product(
    session: Session, actor: Principal, product_id: int, data: ProductUpdate
) -> Product:
    product = get_product(session, product_id)
    sent = data.model_fields_set
    changes: dict[str, object] = {}
    if data.code is not None and data.code.strip() != product.code:
        code = data.code.strip()
        if not code:
            raise _invalid("A product needs a code.", field="code")
        _check_product_code_free(session, code, except_id=product.id)
        changes["code"] = code
    if data.name is not None and data.name.strip() != product.name:
        if not data.name.strip():
            raise _invalid("A product needs a name.", field="name")
        changes["name"] = data.name.strip()
    if data.subtitle is not None and data.subtitle.strip() != product.subtitle:
        changes["subtitle"] = data.subtitle.strip()
    if "category_id" in sent and data.category_id != product.category_id:
        categories.require_category(session, data.category_id)
        changes["category_id"] = data.category_id
    if "description" in sent and data.description != product.description:
        changes["description"] = data.description
    if data.images is not None:
        images = [check_image_url(image, "images") for image in data.images]
        if images != list(product.images or []):
            changes["images"] = images
    spec_names = list(product.spec_names or [])
    if data.spec_names is not None:
        spec_names = normalise_spec_names(data.spec_names)
        if spec_names != list(product.spec_names or []):
            changes["spec_names"] = spec_names
    if data.sort_weight is not None and data.sort_weight != product.sort_weight:
        changes["sort_weight"] = data.sort_weight

    existing = {sku.id: sku for sku in skus_of(session, product.id)}
    sku_changes = _plan_skus(session, product, existing, data.skus, spec_names)
    for key, value in changes.items():
        setattr(product, key, value)
    _apply_skus(session, product, existing, sku_changes)
    _flush(session, product)
    if changes or sku_changes.touched:
        audit.record(
            session,
            actor,
            "catalog.product.update",
            target_type="product",
            target_id=product.id,
            detail={**changes, "skus": sku_changes.touched},
        )
    return product


@dataclass
class _SkuPlan:
    updates: dict[int, dict[str, object]]
    additions: list[dict[str, object]]
    switched_off: list[int]

    @property
    def touched(self) -> list[str]:
        return sorted(
            [str(row["code"]) for row in self.updates.values()]
            + [str(row["code"]) for row in self.additions]
            + [f"off:{sku_id}" for sku_id in self.switched_off]
        )


def _plan_skus(
    session: Session,
    product: Product,
    existing: dict[int, Sku],
    given: list[SkuIn] | None,
    spec_names: list[str],
) -> _SkuPlan:
    """Validate the new SKU list (or the kept SKUs against new spec names) first,
    so a refused update leaves every row as it was."""
    if given is None:
        kept = [_as_input(sku) for sku in existing.values()]
        rows = [_normalise_sku(sku, spec_names, index) for index, sku in enumerate(kept)]
        _check_sku_rows(session, rows, [sku.id for sku in kept])
        _check_listable(product.status, any(row["is_active"] for row in rows))
        _check_store_price_ceiling(session, {sku.id: sku.list_price for sku in existing.values()})
        return _SkuPlan({}, [], [])
    ids = [sku.id for sku in given]
    foreign = [sku_id for sku_id in ids if sku_id is not None and sku_id not in existing]
    if foreign or len({i for i in ids if i is not None}) != len([i for i in ids if i]):
        raise _invalid("A SKU id does not belong to this product.", field="skus", ids=foreign)
    rows = [_normalise_sku(sku, spec_names, index) for index, sku in enumerate(given)]
    omitted = [sku for sku_id, sku in existing.items() if sku_id not in ids]
    # SKUs left out stay in the catalog switched off; their codes stay taken.
    _check_sku_rows(session, rows, ids)
    _check_listable(product.status, any(row["is_active"] for row in rows))
    _check_store_price_ceiling(
        session,
        {sku_id: int(row["list_price"]) for sku_id, row in zip(ids, rows, strict=True) if sku_id},  # type: ignore[call-overload]
    )
    return _SkuPlan(
        updates={
            sku_id: row
            for sku_id, row in zip(ids, rows, strict=True)
            if sku_id is not None and _differs(existing[sku_id], row)
        },
        additions=[row for sku_id, row in zip(ids, rows, strict=True) if sku_id is None],
        switched_off=[sku.id for sku in omitted if sku.is_active],
    )


def _as_input(sku: Sku) -> SkuIn:
    return SkuIn(
        id=sku.id,
        code=sku.code,
        specs={key: str(value) for key, value in (sku.specs or {}).items()},
        list_price=sku.list_price,
        sale_price=sku.sale_price,
        channels=[SalesChannel(channel) for channel in sku.channels or []] or [SalesChannel.MALL],
        is_active=sku.is_active,
        per_order_limit=sku.per_order_limit,
        weight_grams=sku.weight_grams,
        image=sku.image,
    )


def _differs(sku: Sku, row: dict[str, object]) -> bool:
    return any(getattr(sku, key) != value for key, value in row.items())


def _check_listable(status: str, has_active_sku: bool) -> None:
    if status == ProductStatus.ON_SALE and not has_active_sku:
        raise _invalid("A product on sale needs at least one active SKU.", field="skus")


def _check_store_price_ceiling(session: Session, list_prices: dict[int, int]) -> None:
    if not list_prices:
        return
    for price in session.scalars(
        select(StorePrice).where(StorePrice.sku_id.in_(list(list_prices)))
    ):
        if price.price > list_prices[price.sku_id]:
            raise _invalid(
                "A store sells this SKU above the new list price; change that store price first.",
                field="list_price",
                sku_id=price.sku_id,
                location_id=price.location_id,
            )


def _apply_skus(
    session: Session, product: Product, existing: dict[int, Sku], plan: _SkuPlan
) -> None:
    for sku_id in plan.switched_off:
        existing[sku_id].is_active = False
    for sku_id, row in plan.updates.items():
        for key, value in row.items():
            setattr(existing[sku_id], key, value)
    _flush(
        session, *existing.values(), *[Sku(product_id=product.id, **row) for row in plan.additions]
    )


def change_status(
    session: Session, actor: Principal, product_id: int, status: ProductStatus
) -> Product:
    product = get_product(session, product_id)
    current = ProductStatus(product.status)
    if current == status:
        return product  # repeating a status change is harmless
    if status not in ALLOWED_TRANSITIONS[current]:
        raise InvalidStatusChange(data={"from": current.value, "to": status.value})
    if status == ProductStatus.ON_SALE:
        active = session.scalar(
            select(func.count())
            .select_from(Sku)
            .where(Sku.product_id == product.id, Sku.is_active.is_(True))
        )
        _check_listable(ProductStatus.ON_SALE, bool(active))
    product.status = status.value
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.product.status",
        target_type="product",
        target_id=product.id,
        detail={"from": current.value, "to": status.value},
    )
    return product


@dataclass(frozen=True)
class ProductSummary:
    product: Product
    sku_count: int
    min_sale_price: int | None


@dataclass(frozen=True)
class ProductFilter:
    q: str = ""
    status: ProductStatus | None = None
    category_id: int | None = None


def list_products(
    session: Session,
    filters: ProductFilter,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[ProductSummary], str | None]:
    """Newest first, keyset-paginated by id; ``q`` matches name, product or SKU code."""
    paging.check_limit(limit)
    statement = select(Product)
    if filters.status is not None:
        statement = statement.where(Product.status == filters.status.value)
    if filters.category_id is not None:
        statement = statement.where(Product.category_id == filters.category_id)
    q = filters.q.strip()[:MAX_QUERY_LENGTH]
    if q:
        pattern = "%" + escape_like(q.lower()) + "%"
        statement = statement.where(
            or_(
                func.lower(Product.name).like(pattern, escape="\\"),
                func.lower(Product.code).like(pattern, escape="\\"),
                Product.id.in_(select(Sku.product_id).where(Sku.code == q)),
            )
        )
    if cursor:
        (after,) = paging.decode_cursor(cursor, parts=1)
        statement = statement.where(Product.id < after)
    products = list(session.scalars(statement.order_by(Product.id.desc()).limit(limit + 1)))
    more = len(products) > limit
    products = products[:limit]
    return summarise(session, products), (paging.encode_cursor(products[-1].id) if more else None)


def summarise(session: Session, products: list[Product]) -> list[ProductSummary]:
    ids = [product.id for product in products]
    counts: dict[int, tuple[int, int | None]] = {}
    if ids:
        for row in session.execute(
            select(Sku.product_id, func.count(), func.min(Sku.sale_price))
            .where(Sku.product_id.in_(ids), Sku.is_active.is_(True))
            .group_by(Sku.product_id)
        ):
            counts[row[0]] = (int(row[1]), row[2])
    return [ProductSummary(product, *counts.get(product.id, (0, None))) for product in products]
