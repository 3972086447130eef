"""Warehouse API under /api/v1: freshness (``analytics.read``) and sync now (``system.manage``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from siyu.core import clock
from siyu.core.http import SettingsDep
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.warehouse import service
from siyu.warehouse.engine import Warehouse
from siyu.warehouse.schemas import SyncOut, WarehouseStatusOut

router = APIRouter(prefix="/api/v1/warehouse", tags=["warehouse"])

Reader = Annotated[Principal, Depends(require(Permission.ANALYTICS_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SYSTEM_MANAGE))]


@router.get("/status", response_model=WarehouseStatusOut)
def get_status(settings: SettingsDep, _principal: Reader) -> WarehouseStatusOut:
    return service.status(Warehouse.from_settings(settings), now=clock.now())


@router.post("/sync", response_model=SyncOut)
def sync_now(request: Request, settings: SettingsDep, _principal: Manager) -> SyncOut:
    """Export now (not the after-sync hooks; the scheduled job runs those)."""
    return service.sync_now(
        request.app.state.engine, Warehouse.from_settings(settings), now=clock.now()
    )
