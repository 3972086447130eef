"""`siyu audiences refresh [--full]` and `siyu audiences segments` from a shell."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siyu.audiences.segments import service as segments
from siyu.audiences.segments.schemas import SegmentIn
from siyu.cli import app
from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import get_settings
from siyu.staff.principal import command_line_principal
from tests.audiences.segments_helpers import members
from tests.warehouse.factories import make_customer

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIYU_SECRET_KEY", "cli-audiences-" + "k" * 40)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def test_refresh_syncs_then_refreshes_and_segments_lists_sizes(
    database: str, frozen_clock: clock.FrozenClock
) -> None:
    engine = make_engine(database)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        now = clock.now()
        shanghai = make_customer(session, at=now - timedelta(days=3), city="上海").id
        make_customer(session, at=now - timedelta(days=3), city="北京")
        segment_id = segments.create(
            session,
            command_line_principal("test"),
            SegmentIn(name="上海顾客", rule={"attribute": "city", "op": "=", "value": "上海"}),
        ).id
    result = runner.invoke(app, ["audiences", "refresh", "--full"])
    assert result.exit_code == 0, result.output
    assert "refreshed all customers" in result.output
    assert f"segment {segment_id}: 1 members (+1 -0)" in result.output
    with transaction(factory) as session:
        assert members(session, segment_id) == [shanghai]
    # Nothing changed since: the incremental run touches nobody.
    again = runner.invoke(app, ["audiences", "refresh"])
    assert again.exit_code == 0, again.output
    assert "0 customers touched" in again.output
    listed = runner.invoke(app, ["audiences", "segments"])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if "上海顾客" in row)
    assert line.split()[:4] == [str(segment_id), "rule", "active", "1"]
    engine.dispose()
