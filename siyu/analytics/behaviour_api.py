"""Analytics API (behaviour); filled in by its owner."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
