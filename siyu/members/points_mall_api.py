"""Operator points-mall API under /api/v1/points-mall (``members.manage``): items
(create, edit, activate, take off, restock) and recent exchanges. Audit rows are
written by the services in the request's transaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.core.http import SessionDep
from siyu.members import points_mall, points_mall_exchange
from siyu.members.points_mall_schemas import (
    ExchangeList,
    ExchangeOut,
    ItemIn,
    ItemList,
    ItemOut,
    ItemUpdate,
    RestockIn,
)
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/points-mall", tags=["points mall"])

Manager = Annotated[Principal, Depends(require(Permission.MEMBERS_MANAGE))]


@router.get("/items", response_model=ItemList)
def list_items(
    session: SessionDep,
    _principal: Manager,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> ItemList:
    items = points_mall.list_items(session, status=status)
    return ItemList(items=[ItemOut.model_validate(item) for item in items])


@router.post("/items", response_model=ItemOut, status_code=201)
def create_item(body: ItemIn, session: SessionDep, principal: Manager) -> ItemOut:
    return ItemOut.model_validate(points_mall.create(session, principal, body))


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: int, session: SessionDep, _principal: Manager) -> ItemOut:
    return ItemOut.model_validate(points_mall.get(session, item_id))


@router.patch("/items/{item_id}", response_model=ItemOut)
def update_item(item_id: int, body: ItemUpdate, session: SessionDep, principal: Manager) -> ItemOut:
    return ItemOut.model_validate(points_mall.update_item(session, principal, item_id, body))


@router.post("/items/{item_id}/activate", response_model=ItemOut)
def activate_item(item_id: int, session: SessionDep, principal: Manager) -> ItemOut:
    item = points_mall.set_status(session, principal, item_id, points_mall.ACTIVE)
    return ItemOut.model_validate(item)


@router.post("/items/{item_id}/off", response_model=ItemOut)
def take_item_off(item_id: int, session: SessionDep, principal: Manager) -> ItemOut:
    return ItemOut.model_validate(
        points_mall.set_status(session, principal, item_id, points_mall.OFF)
    )


@router.post("/items/{item_id}/restock", response_model=ItemOut)
def restock_item(item_id: int, body: RestockIn, session: SessionDep, principal: Manager) -> ItemOut:
    return ItemOut.model_validate(points_mall.restock(session, principal, item_id, body.quantity))


@router.get("/exchanges", response_model=ExchangeList)
def recent_exchanges(
    session: SessionDep,
    _principal: Manager,
    item_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ExchangeList:
    rows = points_mall_exchange.recent_exchanges(session, item_id=item_id, limit=limit)
    return ExchangeList(items=[ExchangeOut.model_validate(row) for row in rows])
