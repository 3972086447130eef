"""The `siyu` command line against a real embedded database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.app import create_app
from siyu.cli import app
from siyu.core.db import make_engine
from siyu.core.settings import Settings, get_settings
from siyu.models.staff import ApiToken, AuditLog, Staff

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SIYU_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def rows(tmp_path: Path, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(f"sqlite:///{tmp_path}/cli.db")
    with engine.connect() as connection:
        result = list(connection.execute(select(model)).all())
    engine.dispose()
    return result


def test_init_creates_admin_once(cli_env: Path) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    assert "admin user: admin" in first.output
    password = first.output.split("password:")[1].split()[0]
    assert len(password) >= 12
    assert (cli_env / "data" / "secret_key").exists()

    again = runner.invoke(app, ["init"])
    assert again.exit_code == 1
    assert "already initialised" in again.output
    assert len(rows(cli_env, Staff)) == 1

    settings = Settings(database_url=f"sqlite:///{cli_env}/cli.db", data_dir=cli_env / "data")
    with TestClient(create_app(settings, start_worker=False)) as client:
        assert client.get("/readyz").status_code == 200


def test_staff_and_tokens(cli_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    created = runner.invoke(
        app,
        ["staff", "create", "Mei", "--role", "guide", "--role", "operator", "--password-stdin"],
        input="a-long-password\n",
    )
    assert created.exit_code == 0, created.output
    assert "password:" not in created.output

    duplicate = runner.invoke(
        app, ["staff", "create", "mei", "--role", "guide", "--password-stdin"], input="x" * 12
    )
    assert duplicate.exit_code == 1
    assert "staff.username_taken" in duplicate.output

    bad_role = runner.invoke(app, ["staff", "create", "x1", "--role", "wizard"])
    assert bad_role.exit_code != 0
    assert len(rows(cli_env, Staff)) == 2

    token = runner.invoke(app, ["token", "create", "mei", "--name", "ci", "--expires-days", "30"])
    assert token.exit_code == 0, token.output
    raw = token.output.strip()
    assert raw.startswith("siyu_")
    assert "\n" not in raw

    settings = Settings(database_url=f"sqlite:///{cli_env}/cli.db", data_dir=cli_env / "data")
    with TestClient(create_app(settings, start_worker=False)) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert me.json()["username"] == "mei"
        token_id = rows(cli_env, ApiToken)[0].id
        revoked = runner.invoke(app, ["token", "revoke", str(token_id)])
        assert revoked.exit_code == 0, revoked.output
        after = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert after.status_code == 401

    missing = runner.invoke(app, ["token", "revoke", "999"])
    assert missing.exit_code == 1
    assert "token.not_found" in missing.output
    nobody = runner.invoke(app, ["token", "create", "nobody"])
    assert nobody.exit_code == 1
    assert "staff.not_found" in nobody.output

    actions = [row.action for row in rows(cli_env, AuditLog)]
    assert actions == ["staff.create", "staff.create", "token.create", "token.revoke"]
    assert all(row.actor.startswith("cli:") for row in rows(cli_env, AuditLog))


def test_db_commands(cli_env: Path) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    current = runner.invoke(app, ["db", "current"])
    lines = current.output.splitlines()
    assert lines[0].split()[-1] == lines[1].split()[-1]


def test_postgres_without_secret_key_is_refused(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIYU_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "SIYU_SECRET_KEY is required" in result.output
