"""`siyu import transactions` on the command line: a summary, or the bad lines and exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core import migrations
from siyu.core.db import make_engine
from siyu.core.settings import get_settings
from siyu.models.order import Order

DATA = Path(__file__).resolve().parents[1] / "data"
runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/import.db"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    migrations.upgrade(url)
    yield url
    get_settings.cache_clear()


def order_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(Order)).scalar_one())
    finally:
        engine.dispose()


def test_import_then_reimport(database: str) -> None:
    path = str(DATA / "cdnow_master_head300.txt")
    first = runner.invoke(app, ["import", "transactions", path, "--format", "cdnow"])
    assert first.exit_code == 0, first.output
    assert "orders: 300 imported, 0 already there" in first.output
    assert "customers: 77 new, 0 existing" in first.output
    again = runner.invoke(app, ["import", "transactions", path, "--format", "cdnow"])
    assert again.exit_code == 0, again.output
    assert "orders: 0 imported, 300 already there" in again.output
    assert order_count(database) == 300


def test_bad_file_lists_lines_and_writes_nothing(database: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "customer_id,timestamp,order_id,amount\n"
        "C1,2025-01-01T10:00:00,A1,12.345\n"
        "C2,yesterday,A2,1.00\n"
        "C3,2025-01-01T10:00:00,A3,3.00\n"
    )
    result = runner.invoke(app, ["import", "transactions", str(path), "--format", "csv"])
    assert result.exit_code == 1
    assert "line 2: amount '12.345' has more than two decimals" in result.output
    assert "line 3: timestamp 'yesterday' is not ISO-8601" in result.output
    assert order_count(database) == 0


def test_unknown_format_and_bad_platform(database: str) -> None:
    path = str(DATA / "cdnow_master_head300.txt")
    wrong = runner.invoke(app, ["import", "transactions", path, "--format", "xml"])
    assert wrong.exit_code == 1
    assert "--format must be cdnow or csv" in wrong.output
    platform = runner.invoke(
        app, ["import", "transactions", path, "--format", "cdnow", "--platform", "Bad Name"]
    )
    assert platform.exit_code == 1
    assert "import.invalid_platform" in platform.output
    assert order_count(database) == 0
