"""Settings, the secret key rule, SQLite pragmas, and models matching migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from siyu.app import create_app
from siyu.core.db import make_engine, normalise_url
from siyu.core.errors import ConfigurationError
from siyu.core.settings import Settings
from siyu.models import Base


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIYU_DATABASE_URL", "SIYU_REDIS_URL", "SIYU_DATA_DIR", "SIYU_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite:///var/siyu.db"
    assert settings.redis_url is None
    assert settings.data_dir == Path("var")
    assert settings.timezone == "Asia/Shanghai"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIYU_TIMEZONE", "UTC")
    monkeypatch.setenv("SIYU_REDIS_URL", "redis://127.0.0.1:6379/3")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.timezone, settings.redis_url) == ("UTC", "redis://127.0.0.1:6379/3")


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="Nowhere"):
        Settings(timezone="Mars/Nowhere")


def test_secret_key_is_generated_once_for_sqlite(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/a.db", data_dir=tmp_path / "d")
    first = settings.resolved_secret_key()
    assert len(first) >= 32
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert settings.resolved_secret_key() == first


def test_postgres_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1/test", data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="SIYU_SECRET_KEY"):
        create_app(settings)
    assert not (tmp_path / "secret_key").exists()


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="32"):
        Settings(secret_key="short", data_dir=tmp_path).resolved_secret_key()


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///var/x.db") == "sqlite:///var/x.db"


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/dir/p.db")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    engine.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    """Autogenerate against the migrated database finds nothing to do, on both engines."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
