"""What a SKU sells for, where: the one place that decides base prices.

The base price is the SKU's ``sale_price``, replaced by the store's own price when
the order is placed in a store's context (pick-up there, a guide's order, the till)
and that store has one (千店千面). A SKU is sellable in a channel only when its
product is on sale, the SKU is active, the channel is among the SKU's channels and,
in a store's context, the store has not de-listed it. The pricing pipeline and the
storefront's product pages both read prices through here, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog.errors import LocationUnknown, SkuUnavailable
from siyu.models.catalog import Product, ProductStatus, SalesChannel, Sku, StorePrice
from siyu.models.location import Location, LocationKind


@dataclass(frozen=True)
class SellableSku:
    sku_id: int
    product_id: int
    category_id: int | None
    product_name: str
    sku_code: str
    specs: dict[str, Any]
    image: str | None
    list_price: int
    unit_price: int
    # "sale_price" or "store_price": which price applied, for the price breakdown.
    price_kind: str
    per_order_limit: int
    weight_grams: int


def active_store(session: Session, location_id: int, *, for_pickup: bool = False) -> Location:
    """The active store ``location_id``; ``catalog.location_unknown`` otherwise."""
    location = session.get(Location, location_id)
    if (
        location is None
        or not location.is_active
        or location.kind != LocationKind.STORE
        or (for_pickup and not location.accepts_pickup)
    ):
        raise LocationUnknown(data={"location_id": location_id, "for_pickup": for_pickup})
    return location


def evaluate_skus(
    session: Session,
    sku_ids: Iterable[int],
    *,
    channel: SalesChannel,
    store_id: int | None = None,
) -> dict[int, SellableSku | str]:
    """Each requested SKU with its base price, or the reason it cannot be sold here
    (not_found | inactive | off_sale | channel_excluded | not_listed)."""
    ids = sorted(set(sku_ids))
    rows = {
        row.Sku.id: row
        for row in session.execute(
            select(Sku, Product).join(Product, Product.id == Sku.product_id).where(Sku.id.in_(ids))
        )
    }
    store_prices: dict[int, StorePrice] = {}
    if store_id is not None and ids:
        store_prices = {
            price.sku_id: price
            for price in session.scalars(
                select(StorePrice).where(
                    StorePrice.location_id == store_id, StorePrice.sku_id.in_(ids)
                )
            )
        }
    result: dict[int, SellableSku | str] = {}
    for sku_id in ids:
        row = rows.get(sku_id)
        if row is None:
            result[sku_id] = "not_found"
            continue
        sku, product = row.Sku, row.Product
        override = store_prices.get(sku_id)
        if not sku.is_active:
            result[sku_id] = "inactive"
        elif product.status != ProductStatus.ON_SALE:
            result[sku_id] = "off_sale"
        elif channel.value not in (sku.channels or []):
            result[sku_id] = "channel_excluded"
        elif override is not None and not override.is_listed:
            result[sku_id] = "not_listed"
        else:
            result[sku_id] = SellableSku(
                sku_id=sku.id,
                product_id=product.id,
                category_id=product.category_id,
                product_name=product.name,
                sku_code=sku.code,
                specs=dict(sku.specs or {}),
                image=sku.image or (product.images[0] if product.images else None),
                list_price=sku.list_price,
                unit_price=override.price if override is not None else sku.sale_price,
                price_kind="store_price" if override is not None else "sale_price",
                per_order_limit=sku.per_order_limit,
                weight_grams=sku.weight_grams,
            )
    return result


def sellable_skus(
    session: Session,
    sku_ids: Iterable[int],
    *,
    channel: SalesChannel,
    store_id: int | None = None,
) -> dict[int, SellableSku]:
    """Every requested SKU with its base price; raises ``catalog.sku_unavailable``
    (with ``data.reason``) for the first one that cannot be sold here."""
    result: dict[int, SellableSku] = {}
    for sku_id, outcome in evaluate_skus(
        session, sku_ids, channel=channel, store_id=store_id
    ).items():
        if isinstance(outcome, str):
            raise SkuUnavailable(data={"sku_id": sku_id, "reason": outcome})
        result[sku_id] = outcome
    return result
