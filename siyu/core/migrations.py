"""Alembic, driven from code so `siyu db upgrade` needs no alembic.ini.

Migrations live in the top-level ``migrations/`` folder (DESIGN.md layout); siyu is
installed from its checkout (``pip install -e``), see docs/decisions/0001.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from siyu.core.db import READ_ONLY_OPTION, normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Date-prefixed revision files: 2026_11_22_1200-<rev>_<slug>.py
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine, database_url: str) -> bool:
    return current_revision(engine) == head_revision(database_url)
