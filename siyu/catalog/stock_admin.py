"""Staff-facing stock work: goods in, count corrections, levels and the ledger.

The changes themselves go through ``siyu.catalog.stock`` (the one stock service);
this module checks that the SKU and location exist, names the actor in the ledger,
and writes the audit row in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import paging, stock
from siyu.catalog.errors import InvalidCatalogInput
from siyu.catalog.locations import require_location
from siyu.catalog.schemas import StockAdjustIn, StockReceiveIn
from siyu.models.catalog import Product, Sku
from siyu.models.stock import StockLevel, StockMovement, StockMovementKind
from siyu.staff import audit
from siyu.staff.principal import Principal


def staff_actor(actor: Principal) -> str:
    return f"staff:{actor.username}"


def _require_sku(session: Session, sku_id: int) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise InvalidCatalogInput("No such SKU.", data={"field": "sku_id", "sku_id": sku_id})
    return sku


def receive(session: Session, actor: Principal, data: StockReceiveIn) -> stock.Level:
    _require_sku(session, data.sku_id)
    require_location(session, data.location_id)
    stock.receive(
        session,
        [stock.StockItem(data.sku_id, data.location_id, data.quantity)],
        actor=staff_actor(actor),
        reason=data.reason.strip(),
    )
    audit.record(
        session,
        actor,
        "stock.receive",
        target_type="sku",
        target_id=data.sku_id,
        detail={"location_id": data.location_id, "quantity": data.quantity},
    )
    return level_of(session, data.sku_id, data.location_id)


def adjust(session: Session, actor: Principal, data: StockAdjustIn) -> stock.Level:
    _require_sku(session, data.sku_id)
    require_location(session, data.location_id)
    stock.adjust(
        session,
        sku_id=data.sku_id,
        location_id=data.location_id,
        delta=data.delta,
        actor=staff_actor(actor),
        reason=data.reason.strip(),
    )
    audit.record(
        session,
        actor,
        "stock.adjust",
        target_type="sku",
        target_id=data.sku_id,
        detail={"location_id": data.location_id, "delta": data.delta, "reason": data.reason},
    )
    return level_of(session, data.sku_id, data.location_id)


def level_of(session: Session, sku_id: int, location_id: int) -> stock.Level:
    row = session.get(StockLevel, (sku_id, location_id), populate_existing=True)
    if row is None:
        return stock.Level(sku_id, location_id, 0, 0)
    return stock.Level(sku_id, location_id, row.on_hand, row.reserved)


def levels(
    session: Session, *, sku_id: int | None = None, location_id: int | None = None
) -> list[stock.Level]:
    if sku_id is None and location_id is None:
        raise InvalidCatalogInput("Give a sku_id, a location_id or both.", data={"field": "sku_id"})
    statement = select(StockLevel).order_by(StockLevel.sku_id, StockLevel.location_id)
    if sku_id is not None:
        statement = statement.where(StockLevel.sku_id == sku_id)
    if location_id is not None:
        statement = statement.where(StockLevel.location_id == location_id)
    return [
        stock.Level(row.sku_id, row.location_id, row.on_hand, row.reserved)
        for row in session.scalars(statement)
    ]


@dataclass(frozen=True)
class LocationStockRow:
    """One SKU's level at a location, with what the console shows beside it."""

    sku_id: int
    sku_code: str
    product_name: str
    specs: dict[str, object]
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def location_stock(session: Session, location_id: int, *, q: str = "") -> list[LocationStockRow]:
    statement = (
        select(StockLevel, Sku.code, Sku.specs, Product.name)
        .join(Sku, Sku.id == StockLevel.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(StockLevel.location_id == location_id)
        .order_by(Product.name, Sku.code)
        .limit(500)
    )
    if q.strip():
        statement = statement.where(Sku.code == q.strip())
    return [
        LocationStockRow(level.sku_id, code, name, dict(specs or {}), level.on_hand, level.reserved)
        for level, code, specs, name in session.execute(statement)
    ]


@dataclass(frozen=True)
class MovementFilter:
    sku_id: int | None = None
    location_id: int | None = None
    kind: StockMovementKind | None = None
    order_id: int | None = None


def movements(
    session: Session,
    filters: MovementFilter,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[StockMovement], str | None]:
    """The ledger, newest first, keyset-paginated by id."""
    paging.check_limit(limit)
    statement = select(StockMovement)
    if filters.sku_id is not None:
        statement = statement.where(StockMovement.sku_id == filters.sku_id)
    if filters.location_id is not None:
        statement = statement.where(StockMovement.location_id == filters.location_id)
    if filters.kind is not None:
        statement = statement.where(StockMovement.kind == filters.kind.value)
    if filters.order_id is not None:
        statement = statement.where(StockMovement.order_id == filters.order_id)
    if cursor:
        (after,) = paging.decode_cursor(cursor, parts=1)
        statement = statement.where(StockMovement.id < after)
    rows = list(session.scalars(statement.order_by(StockMovement.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (paging.encode_cursor(rows[-1].id) if more else None)
