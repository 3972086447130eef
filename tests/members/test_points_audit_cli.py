"""``siyu points audit`` proves every balance and fails on any mismatch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import get_settings
from siyu.models.member import Membership
from tests.customers.factories import make_cipher
from tests.members.factories import make_member

runner = CliRunner()


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield url
    get_settings.cache_clear()


def test_audit_passes_then_reports_a_drifted_balance(cli_database: str) -> None:
    engine = make_engine(cli_database)
    try:
        with transaction(make_session_factory(engine)) as session:
            customer_id = make_member(session, make_cipher(), points_balance=120)
        clean = runner.invoke(app, ["points", "audit"])
        assert clean.exit_code == 0, clean.output
        assert clean.output.strip() == "memberships: 1, mismatches: 0"
        with transaction(make_session_factory(engine)) as session:
            session.execute(
                update(Membership)
                .where(Membership.customer_id == customer_id)
                .values(points_frozen=5)
            )
        drifted = runner.invoke(app, ["points", "audit"])
        assert drifted.exit_code == 1
        assert drifted.output.splitlines() == [
            f"customer {customer_id}: points_frozen ledger=0 balance=5",
            f"customer {customer_id}: frozen_lots ledger=0 balance=5",
            "memberships: 1, mismatches: 2",
        ]
    finally:
        engine.dispose()
