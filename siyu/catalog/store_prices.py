"""Per-store prices and assortment (千店千面).

A store's price replaces the SKU's sale price in that store's context; ``is_listed``
false hides the SKU there. How they apply is decided in ``siyu.catalog.prices``; this
module only keeps the rows. A store price may not exceed the SKU's list price, for the
same reason a sale price may not: the crossed-out price must stay the highest shown.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.catalog.errors import CatalogConflict, CatalogNotFound, InvalidCatalogInput
from siyu.catalog.products import get_sku
from siyu.catalog.schemas import StorePriceIn
from siyu.models.catalog import StorePrice
from siyu.models.location import Location, LocationKind
from siyu.staff import audit
from siyu.staff.principal import Principal


def list_store_prices(session: Session, sku_id: int) -> list[StorePrice]:
    get_sku(session, sku_id)
    return list(
        session.scalars(
            select(StorePrice).where(StorePrice.sku_id == sku_id).order_by(StorePrice.location_id)
        )
    )


def _store(session: Session, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None or location.kind != LocationKind.STORE:
        raise InvalidCatalogInput(
            "Store prices belong to stores.",
            data={"field": "location_id", "location_id": location_id},
        )
    return location


def set_store_price(
    session: Session, actor: Principal, sku_id: int, location_id: int, data: StorePriceIn
) -> StorePrice:
    sku = get_sku(session, sku_id)
    _store(session, location_id)
    if data.price > sku.list_price:
        raise InvalidCatalogInput(
            "A store price may not exceed the list price.",
            data={"field": "price", "list_price": sku.list_price},
        )
    row = session.scalar(
        select(StorePrice).where(StorePrice.sku_id == sku_id, StorePrice.location_id == location_id)
    )
    before = None if row is None else {"price": row.price, "is_listed": row.is_listed}
    if row is None:
        row = StorePrice(sku_id=sku_id, location_id=location_id)
    row.price = data.price
    row.is_listed = data.is_listed
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as error:
        # Another request created the row first; the caller may simply retry.
        raise CatalogConflict(data={"sku_id": sku_id, "location_id": location_id}) from error
    audit.record(
        session,
        actor,
        "catalog.store_price.set",
        target_type="sku",
        target_id=sku_id,
        detail={
            "location_id": location_id,
            "before": before,
            "price": data.price,
            "is_listed": data.is_listed,
        },
    )
    return row


def delete_store_price(session: Session, actor: Principal, sku_id: int, location_id: int) -> None:
    row = session.scalar(
        select(StorePrice).where(StorePrice.sku_id == sku_id, StorePrice.location_id == location_id)
    )
    if row is None:
        raise CatalogNotFound(data={"sku_id": sku_id, "location_id": location_id})
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.store_price.delete",
        target_type="sku",
        target_id=sku_id,
        detail={"location_id": location_id, "price": row.price, "is_listed": row.is_listed},
    )
