"""Shapes of the warehouse's API output."""

from __future__ import annotations

from pydantic import BaseModel


class TableFreshnessOut(BaseModel):
    name: str
    rows: int
    newest: str | None
    age_seconds: float | None


class WarehouseStatusOut(BaseModel):
    root: str
    last_sync_at: str | None
    disk_bytes: int
    tables: list[TableFreshnessOut]


class SyncOut(BaseModel):
    skipped: bool
    seconds: float
    rows: dict[str, int]
    touched_customers: int
