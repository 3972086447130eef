"""Fixtures shared by the analytics tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from siyu.analytics.connection import Analytics, open_analytics
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse

ALL = DataScope(ScopeKind.ALL)
TIMEZONE = "Asia/Shanghai"


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """A small warehouse of its own per test (one DuckDB thread, little memory)."""
    return Warehouse(tmp_path / "warehouse", threads=1, memory_limit="512MB")


OpenAnalytics = Callable[..., Analytics]


@pytest.fixture
def open_test_analytics(warehouse: Warehouse) -> OpenAnalytics:
    """``open_test_analytics(session, today=..., scope=ALL)``: the connection the views use."""

    def opener(session: Session, *, today: date, scope: DataScope = ALL) -> Analytics:
        return open_analytics(warehouse, session, scope=scope, timezone=TIMEZONE, today=today)

    return opener
