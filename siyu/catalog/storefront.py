"""What consumers may see of the catalog, and at what price.

The mall storefront always sells in channel ``mall``. ``store_id`` puts the visit in
a store's context (the customer came through that store's code or picks up there):
that store's own prices apply and SKUs it de-listed disappear. Whether a SKU is
sellable and what it costs is decided by ``siyu.catalog.prices`` alone; the SQL
filter below only narrows the candidates so that pages stay full, and every shown
price comes from ``evaluate_skus``. Draft, off-sale, channel-excluded and de-listed
goods are never shown: a product with no sellable SKU here is "not found".
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Text, and_, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from siyu.catalog import availability, categories, paging
from siyu.catalog.errors import CatalogNotFound
from siyu.catalog.prices import SellableSku, active_store, evaluate_skus
from siyu.catalog.products import MAX_QUERY_LENGTH, escape_like
from siyu.catalog.shop_schemas import (
    ShopAvailabilityList,
    ShopCategoryList,
    ShopCategoryOut,
    ShopProductCard,
    ShopProductDetail,
    ShopProductPage,
    ShopSkuOut,
    ShopSpecOut,
    ShopStoreAvailability,
    ShopStoreList,
    ShopStoreOut,
)
from siyu.models.catalog import Product, ProductStatus, SalesChannel, Sku, StorePrice
from siyu.models.location import Location
from siyu.models.stock import StockLevel

CHANNEL = SalesChannel.MALL


def _check_store(session: Session, store_id: int | None) -> None:
    if store_id is not None:
        active_store(session, store_id)


def shop_categories(session: Session) -> ShopCategoryList:
    active = categories.list_categories(session, active_only=True)
    ids = {category.id for category in active}
    # A sub-category of a switched-off parent is hidden with it.
    visible = [c for c in active if c.parent_id is None or c.parent_id in ids]
    return ShopCategoryList(
        items=[ShopCategoryOut(id=c.id, parent_id=c.parent_id, name=c.name) for c in visible]
    )


def _descendants(session: Session, category_id: int) -> list[int]:
    children: dict[int | None, list[int]] = {}
    for category in categories.list_categories(session):
        children.setdefault(category.parent_id, []).append(category.id)
    found, pending = [], [category_id]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def _maybe_sellable_skus(store_id: int | None) -> ColumnElement[bool]:
    """Active SKUs offered in the mall (and not de-listed in the store): a prefilter.

    Channels are a JSON list drawn from {"mall", "store"}, so matching the quoted name
    in its text is exact on both engines."""
    condition = and_(Sku.is_active.is_(True), cast(Sku.channels, Text).like(f'%"{CHANNEL.value}"%'))
    if store_id is not None:
        delisted = exists().where(
            StorePrice.sku_id == Sku.id,
            StorePrice.location_id == store_id,
            StorePrice.is_listed.is_(False),
        )
        condition = and_(condition, ~delisted)
    return condition


def _sellable_by_product(
    session: Session, product_ids: list[int], store_id: int | None
) -> dict[int, list[SellableSku]]:
    if not product_ids:
        return {}
    sku_ids = session.scalars(
        select(Sku.id).where(Sku.product_id.in_(product_ids), Sku.is_active.is_(True))
    ).all()
    result: dict[int, list[SellableSku]] = {}
    outcomes = evaluate_skus(session, sku_ids, channel=CHANNEL, store_id=store_id)
    for outcome in outcomes.values():
        if isinstance(outcome, SellableSku):
            result.setdefault(outcome.product_id, []).append(outcome)
    return result


def list_products(
    session: Session,
    *,
    category_id: int | None = None,
    q: str = "",
    store_id: int | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ShopProductPage:
    """On-sale products with a SKU sellable here; heaviest ``sort_weight`` first."""
    paging.check_limit(limit)
    _check_store(session, store_id)
    statement = select(Product).where(
        Product.status == ProductStatus.ON_SALE.value,
        Product.id.in_(select(Sku.product_id).where(_maybe_sellable_skus(store_id))),
    )
    if category_id is not None:
        statement = statement.where(Product.category_id.in_(_descendants(session, category_id)))
    text = q.strip()[:MAX_QUERY_LENGTH]
    if text:
        pattern = "%" + escape_like(text.lower()) + "%"
        statement = statement.where(func.lower(Product.name).like(pattern, escape="\\"))
    if cursor:
        weight, after = paging.decode_cursor(cursor, parts=2)
        statement = statement.where(
            or_(
                Product.sort_weight < weight,
                and_(Product.sort_weight == weight, Product.id < after),
            )
        )
    products = list(
        session.scalars(
            statement.order_by(Product.sort_weight.desc(), Product.id.desc()).limit(limit + 1)
        )
    )
    more = len(products) > limit
    products = products[:limit]
    sellable = _sellable_by_product(session, [p.id for p in products], store_id)
    cards = []
    for product in products:
        skus = sellable.get(product.id)
        if not skus:
            continue
        cheapest = min(skus, key=lambda sku: (sku.unit_price, sku.sku_id))
        cards.append(
            ShopProductCard(
                id=product.id,
                name=product.name,
                subtitle=product.subtitle,
                category_id=product.category_id,
                image=product.images[0] if product.images else None,
                price_from=cheapest.unit_price,
                list_price_from=cheapest.list_price,
            )
        )
    next_cursor = paging.encode_cursor(products[-1].sort_weight, products[-1].id) if more else None
    return ShopProductPage(items=cards, next_cursor=next_cursor)


def _visible_product(
    session: Session, product_id: int, store_id: int | None
) -> tuple[Product, list[SellableSku]]:
    _check_store(session, store_id)
    product = session.get(Product, product_id)
    if product is None or product.status != ProductStatus.ON_SALE:
        raise CatalogNotFound(data={"product_id": product_id})
    skus = _sellable_by_product(session, [product.id], store_id).get(product.id, [])
    if not skus:
        raise CatalogNotFound(data={"product_id": product_id})
    return product, sorted(skus, key=lambda sku: sku.sku_id)


def _deliverable(session: Session, sku_ids: list[int]) -> set[int]:
    return set(
        session.scalars(
            select(StockLevel.sku_id)
            .join(Location, Location.id == StockLevel.location_id)
            .where(
                StockLevel.sku_id.in_(sku_ids),
                StockLevel.on_hand - StockLevel.reserved >= 1,
                Location.is_active.is_(True),
                Location.ships_online.is_(True),
            )
            .distinct()
        )
    )


def product_detail(
    session: Session, product_id: int, *, store_id: int | None = None
) -> ShopProductDetail:
    product, skus = _visible_product(session, product_id, store_id)
    deliverable = _deliverable(session, [sku.sku_id for sku in skus])
    spec_names = list(product.spec_names or [])
    matrix: dict[str, list[str]] = {name: [] for name in spec_names}
    for sku in skus:
        for name in spec_names:
            value = str(sku.specs.get(name, ""))
            if value and value not in matrix[name]:
                matrix[name].append(value)
    return ShopProductDetail(
        id=product.id,
        name=product.name,
        subtitle=product.subtitle,
        description=product.description,
        category_id=product.category_id,
        images=list(product.images or []),
        spec_names=spec_names,
        specs=[ShopSpecOut(name=name, values=values) for name, values in matrix.items()],
        skus=[
            ShopSkuOut(
                id=sku.sku_id,
                code=sku.sku_code,
                specs=sku.specs,
                image=sku.image,
                list_price=sku.list_price,
                unit_price=sku.unit_price,
                price_kind=sku.price_kind,
                per_order_limit=sku.per_order_limit,
                in_stock_for_delivery=sku.sku_id in deliverable,
            )
            for sku in skus
        ],
        store_id=store_id,
    )


def product_availability(
    session: Session,
    product_id: int,
    *,
    sku_id: int,
    quantity: int,
    latitude: float | None,
    longitude: float | None,
) -> ShopAvailabilityList:
    _product, skus = _visible_product(session, product_id, None)
    if sku_id not in {sku.sku_id for sku in skus}:
        raise CatalogNotFound(data={"product_id": product_id, "sku_id": sku_id})
    found = availability.stores_with_stock(
        session, sku_id, quantity, latitude=latitude, longitude=longitude
    )
    return ShopAvailabilityList(
        product_id=product_id,
        sku_id=sku_id,
        quantity=quantity,
        items=[
            ShopStoreAvailability(
                store_id=item.location.id,
                name=item.location.name,
                city=item.location.city,
                address=item.location.address,
                opening_hours=item.location.opening_hours,
                distance_km=item.distance_km,
                unit_price=item.unit_price,
                stock_status=item.status,
            )
            for item in found
        ],
    )


def stores(
    session: Session, *, latitude: float | None = None, longitude: float | None = None
) -> ShopStoreList:
    return ShopStoreList(
        items=[
            ShopStoreOut(
                id=store.id,
                name=store.name,
                city=store.city,
                address=store.address,
                phone=store.phone,
                opening_hours=store.opening_hours,
                latitude=store.latitude,
                longitude=store.longitude,
                distance_km=distance,
            )
            for store, distance in availability.pickup_stores(
                session, latitude=latitude, longitude=longitude
            )
        ]
    )
