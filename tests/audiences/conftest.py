"""Fixtures shared by the audience tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.warehouse.engine import Warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """A small warehouse of its own per test (one DuckDB thread, little memory)."""
    return Warehouse(tmp_path / "warehouse", threads=1, memory_limit="512MB")
