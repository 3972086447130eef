"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from siyu.core import clock, migrations
from siyu.core.db import READ_ONLY_OPTION
from siyu.warehouse import service as warehouse_service
from siyu.warehouse.engine import Warehouse

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and serving; says nothing about its dependencies."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready to take traffic: database reachable and migrated to the latest revision."""
    state = request.app.state
    checks: dict[str, Any] = {}
    ready = True
    try:
        with state.engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
        current = migrations.current_revision(state.engine)
        head = migrations.head_revision(state.settings.database_url)
        checks["migrations"] = {"ok": current == head, "current": current, "head": head}
        ready = ready and current == head
    except Exception as error:
        checks["database"] = {"ok": False, "error": type(error).__name__}
        ready = False
    if state.redis is not None:
        try:
            state.redis.ping()
            checks["redis"] = {"ok": True}
        except Exception as error:
            checks["redis"] = {"ok": False, "error": type(error).__name__}
            ready = False
    # Informational only: a stale or broken warehouse never makes the service unready.
    try:
        checks["warehouse"] = warehouse_service.readiness(
            Warehouse.from_settings(state.settings), now=clock.now()
        )
    except Exception as error:
        checks["warehouse"] = {"ok": False, "error": type(error).__name__}
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )
