"""Stock routes of the operator API (mounted under /api/v1/catalog by ``api``).

Levels and store availability are read by whoever manages the catalog or reads
orders (store staff answering "do you have it in my size?"); every change and the
ledger need ``catalog.manage``. Changes go through ``stock_admin`` → ``stock``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.catalog import availability, paging, stock, stock_admin
from siyu.catalog.params import PathId, QueryId
from siyu.catalog.schemas import (
    AvailabilityList,
    LedgerAuditOut,
    LedgerMismatchOut,
    StockAdjustIn,
    StockLevelList,
    StockLevelOut,
    StockMovementOut,
    StockMovementPage,
    StockReceiveIn,
    StoreAvailabilityOut,
)
from siyu.core.errors import PermissionDenied
from siyu.core.http import SessionDep
from siyu.models.stock import StockMovementKind
from siyu.staff.auth import PrincipalDep, require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter()

Manager = Annotated[Principal, Depends(require(Permission.CATALOG_MANAGE))]


def stock_reader(principal: PrincipalDep) -> Principal:
    if not (principal.has(Permission.CATALOG_MANAGE) or principal.has(Permission.ORDERS_READ)):
        raise PermissionDenied(data={"permission": str(Permission.ORDERS_READ)})
    return principal


StockReader = Annotated[Principal, Depends(stock_reader)]


def level_out(level: stock.Level) -> StockLevelOut:
    return StockLevelOut(
        sku_id=level.sku_id,
        location_id=level.location_id,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
    )


@router.get("/stock", response_model=StockLevelList)
def stock_levels(
    session: SessionDep,
    _principal: StockReader,
    sku_id: QueryId = None,
    location_id: QueryId = None,
) -> StockLevelList:
    found = stock_admin.levels(session, sku_id=sku_id, location_id=location_id)
    return StockLevelList(items=[level_out(level) for level in found])


@router.post("/stock/receive", response_model=StockLevelOut)
def receive_stock(session: SessionDep, principal: Manager, body: StockReceiveIn) -> StockLevelOut:
    return level_out(stock_admin.receive(session, principal, body))


@router.post("/stock/adjust", response_model=StockLevelOut)
def adjust_stock(session: SessionDep, principal: Manager, body: StockAdjustIn) -> StockLevelOut:
    return level_out(stock_admin.adjust(session, principal, body))


@router.get("/stock/movements", response_model=StockMovementPage)
def stock_movements(
    session: SessionDep,
    _principal: Manager,
    sku_id: QueryId = None,
    location_id: QueryId = None,
    kind: StockMovementKind | None = None,
    order_id: QueryId = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> StockMovementPage:
    filters = stock_admin.MovementFilter(
        sku_id=sku_id, location_id=location_id, kind=kind, order_id=order_id
    )
    rows, next_cursor = stock_admin.movements(session, filters, limit=limit, cursor=cursor)
    return StockMovementPage(
        items=[StockMovementOut.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/stock/audit", response_model=LedgerAuditOut)
def stock_audit(session: SessionDep, _principal: Manager) -> LedgerAuditOut:
    mismatches = stock.audit(session)
    return LedgerAuditOut(
        consistent=not mismatches,
        mismatches=[LedgerMismatchOut(**mismatch.__dict__) for mismatch in mismatches],
    )


@router.get("/skus/{sku_id}/availability", response_model=AvailabilityList)
def store_availability(
    sku_id: PathId,
    session: SessionDep,
    _principal: StockReader,
    quantity: int = 1,
    latitude: Annotated[float | None, Query(alias="lat")] = None,
    longitude: Annotated[float | None, Query(alias="lng")] = None,
) -> AvailabilityList:
    found = availability.stores_with_stock(
        session, sku_id, quantity, latitude=latitude, longitude=longitude
    )
    return AvailabilityList(
        sku_id=sku_id,
        quantity=quantity,
        items=[
            StoreAvailabilityOut(
                location_id=item.location.id,
                code=item.location.code,
                name=item.location.name,
                city=item.location.city,
                address=item.location.address,
                opening_hours=item.location.opening_hours,
                distance_km=item.distance_km,
                available=item.available,
                unit_price=item.unit_price,
            )
            for item in found
        ],
    )
