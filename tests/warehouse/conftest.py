from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from siyu.core.clock import FrozenClock
from siyu.warehouse.engine import Warehouse

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock_at_t0(frozen_clock: FrozenClock) -> FrozenClock:
    """Rows stamped by the models (onupdate) get times near the tests' own."""
    frozen_clock.set(T0)
    return frozen_clock


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse", threads=1, memory_limit="512MB")


@pytest.fixture
def no_hooks() -> Iterator[None]:
    from siyu.warehouse import hooks

    saved = list(hooks._hooks)
    hooks._hooks.clear()
    try:
        yield
    finally:
        hooks._hooks[:] = saved
