"""Status and on-demand sync of the warehouse, shared by the API, console and CLI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from siyu.warehouse.errors import SyncBusy
from siyu.warehouse.schemas import SyncOut, TableFreshnessOut, WarehouseStatusOut


def status(warehouse: Warehouse, *, now: datetime) -> WarehouseStatusOut:
    fresh = warehouse.freshness(now=now)
    return WarehouseStatusOut(
        root=str(warehouse.root),
        last_sync_at=fresh["last_sync_at"],
        disk_bytes=warehouse.disk_bytes() if warehouse.root.exists() else 0,
        tables=[TableFreshnessOut(name=name, **values) for name, values in fresh["tables"].items()],
    )


def readiness(warehouse: Warehouse, *, now: datetime) -> dict[str, object]:
    """The /readyz detail: informational, it never makes readiness fail."""
    fresh = warehouse.freshness(now=now)
    events = fresh["tables"]["events"]
    ages = [t["age_seconds"] for t in fresh["tables"].values() if t["age_seconds"] is not None]
    return {
        "ok": True,
        "last_sync_at": fresh["last_sync_at"],
        "events_age_seconds": events["age_seconds"],
        "max_age_seconds": max(ages) if ages else None,
        "tables": {name: t["age_seconds"] for name, t in fresh["tables"].items()},
    }


def sync_now(engine: Engine, warehouse: Warehouse, *, now: datetime) -> SyncOut:
    """Sync at once (export only); a sync already running is a 409."""
    result = export.sync(engine, warehouse, now=now, wait=False)
    if result.skipped:
        raise SyncBusy()
    return to_out(result)


def to_out(result: export.SyncResult) -> SyncOut:
    return SyncOut(
        skipped=result.skipped,
        seconds=round(result.seconds, 3),
        rows=result.rows,
        touched_customers=len(result.touched_customer_ids),
    )
