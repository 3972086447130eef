"""The warehouse page: freshness per table, last sync, and "sync now".

Viewing needs ``analytics.read`` (the section's permission); syncing needs
``system.manage``, checked again on the POST.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.core.http import SettingsDep
from siyu.staff.permissions import Permission
from siyu.warehouse import service
from siyu.warehouse.engine import Warehouse
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

BASE = "/console/warehouse"
ReadPage = Annotated[ConsolePage, Depends(page_requiring(Permission.ANALYTICS_READ))]
ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.SYSTEM_MANAGE))]


def _render(
    page: ConsolePage, settings: SettingsDep, *, flash: str = "", status: int = 200
) -> HTMLResponse:
    out = service.status(Warehouse.from_settings(settings), now=clock.now())
    return page.render(
        "warehouse.html",
        active="warehouse",
        status=status,
        out=out,
        flash=flash,
        may_sync=page.may(Permission.SYSTEM_MANAGE),
        sync_seconds=settings.warehouse_sync_seconds,
    )


@router.get(BASE)
def warehouse_status(
    page: ReadPage, settings: SettingsDep, synced: int | None = None
) -> HTMLResponse:
    flash = page.t("warehouse.synced", rows=synced) if synced is not None else ""
    return _render(page, settings, flash=flash)


@router.post(BASE + "/sync")
def warehouse_sync(request: Request, page: ManagePage, settings: SettingsDep) -> Response:
    try:
        result = service.sync_now(
            request.app.state.engine, Warehouse.from_settings(settings), now=clock.now()
        )
    except SiyuError as error:
        return _render(page, settings, flash=page.t("warehouse.busy"), status=error.status)
    return RedirectResponse(f"{BASE}?synced={sum(result.rows.values())}", status_code=303)
