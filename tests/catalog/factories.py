"""Typed keyword-only factories for catalog tests (rows written directly, no audit)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core.crypto import PiiCipher
from siyu.customers import sessions
from siyu.models.catalog import Category, Product, ProductStatus, Sku, StorePrice
from siyu.models.location import Location, LocationKind
from siyu.models.staff import AuditLog, Role
from tests.customers.factories import make_customer
from tests.factories import make_staff, make_token

_sequence = itertools.count(1)


def make_category(
    session: Session, *, name: str | None = None, parent_id: int | None = None
) -> Category:
    category = Category(name=name or f"类目{next(_sequence)}", parent_id=parent_id)
    session.add(category)
    session.flush()
    return category


def make_product(
    session: Session,
    *,
    name: str | None = None,
    status: ProductStatus = ProductStatus.ON_SALE,
    category_id: int | None = None,
    spec_names: list[str] | None = None,
    sort_weight: int = 0,
) -> Product:
    number = next(_sequence)
    product = Product(
        code=f"P{number:05d}",
        name=name or f"口红 {number}",
        status=status.value,
        category_id=category_id,
        spec_names=spec_names if spec_names is not None else ["颜色"],
        images=[f"https://img.example.com/{number}.jpg"],
        sort_weight=sort_weight,
    )
    session.add(product)
    session.flush()
    return product


def make_sku(
    session: Session,
    *,
    product: Product,
    specs: dict[str, Any] | None = None,
    list_price: int = 29900,
    sale_price: int = 25900,
    channels: list[str] | None = None,
    is_active: bool = True,
) -> Sku:
    number = next(_sequence)
    sku = Sku(
        product_id=product.id,
        code=f"S{number:06d}",
        specs=specs if specs is not None else {"颜色": f"色{number}"},
        list_price=list_price,
        sale_price=sale_price,
        channels=channels if channels is not None else ["mall", "store"],
        is_active=is_active,
    )
    session.add(sku)
    session.flush()
    return sku


def make_location(
    session: Session,
    *,
    name: str | None = None,
    kind: LocationKind = LocationKind.STORE,
    latitude: float | None = None,
    longitude: float | None = None,
    accepts_pickup: bool = True,
    ships_online: bool = False,
    is_active: bool = True,
) -> Location:
    number = next(_sequence)
    location = Location(
        code=f"L{number:05d}",
        name=name or f"门店{number}",
        kind=kind.value,
        city="上海",
        latitude=latitude,
        longitude=longitude,
        accepts_pickup=accepts_pickup,
        ships_online=ships_online,
        is_active=is_active,
    )
    session.add(location)
    session.flush()
    return location


def make_store_price(
    session: Session, *, sku: Sku, location: Location, price: int, is_listed: bool = True
) -> StorePrice:
    row = StorePrice(sku_id=sku.id, location_id=location.id, price=price, is_listed=is_listed)
    session.add(row)
    session.flush()
    return row


def put_stock(session: Session, *, sku: Sku, location: Location, quantity: int) -> None:
    stock.receive(session, [stock.StockItem(sku.id, location.id, quantity)], actor="test")


def bearer(session: Session, *roles: Role) -> dict[str, str]:
    staff = make_staff(session, roles=list(roles) or [Role.OPERATOR])
    return {"Authorization": f"Bearer {make_token(session, staff)}"}


def customer_headers(session: Session, cipher: PiiCipher) -> dict[str, str]:
    customer = make_customer(session, cipher)
    raw, _record = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def audit_actions(session: Session) -> list[str]:
    """Audit actions of the catalog and stock, oldest first (staff set-up rows left out)."""
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id))
    return [action for action in actions if action.startswith(("catalog.", "stock."))]


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0
