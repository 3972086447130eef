"""`siyu demo --no-serve` builds the brand once; running it again skips generation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.catalog import stock
from siyu.cli import app
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.outbox import Dispatcher, HandlerRegistry, outbox_stats
from siyu.core.settings import get_settings
from siyu.models.catalog import Product
from siyu.models.customer import Customer
from siyu.models.order import Order

runner = CliRunner()


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/demo.db"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_demo_builds_once_and_events_dispatch(demo_env: str) -> None:
    first = runner.invoke(app, ["demo", "--customers", "150", "--days", "30", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "demo brand: 150 customers" in first.output
    assert "demo offers:" in first.output
    assert "members in 4 tiers" in first.output
    assert "demo campaigns: 12 campaigns of every mechanic" in first.output
    assert "demo audiences: 11 manual tags" in first.output
    assert "13 segments" in first.output
    engine = make_engine(demo_env)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            products = session.execute(select(func.count()).select_from(Product)).scalar_one()
            orders = session.execute(select(func.count()).select_from(Order)).scalar_one()
            assert session.execute(select(func.count()).select_from(Customer)).scalar_one() == 150
            assert stock.audit(session) == []
            pending = outbox_stats(session)["pending"]
        assert pending > orders > 0

        second = runner.invoke(app, ["demo", "--customers", "150", "--no-serve"])
        assert second.exit_code == 0, second.output
        assert "generation skipped" in second.output
        assert "offers skipped" in second.output
        assert "campaigns skipped" in second.output
        assert "audiences skipped" in second.output
        with transaction(factory) as session:
            assert (
                session.execute(select(func.count()).select_from(Product)).scalar_one() == products
            )
            assert session.execute(select(func.count()).select_from(Order)).scalar_one() == orders

        # Historical events are due at once; with no handlers the worker just marks them done.
        handled = Dispatcher(factory, HandlerRegistry()).dispatch_pending()
        assert handled == pending
        with transaction(factory) as session:
            assert outbox_stats(session) == {"pending": 0, "done": pending, "dead": 0}
    finally:
        engine.dispose()
