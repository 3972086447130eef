"""A module's own live site for a browser test: a freshly migrated SQLite file in a
temporary folder, its settings, and the console sign-in every such test starts with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.core.db import make_engine, make_session_factory
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from tests.live import serve


@dataclass(frozen=True)
class Sandbox:
    name: str
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]


def sandbox(tmp_path_factory: pytest.TempPathFactory, name: str) -> Sandbox:
    """A migrated SQLite database in its own data folder, no worker."""
    data_dir = tmp_path_factory.mktemp(name)
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=f"e2e-{name}-" + "k" * 40,
        run_worker=False,
    )
    return Sandbox(name, settings, engine, make_session_factory(engine))


@contextmanager
def serving(box: Sandbox) -> Iterator[str]:
    """Serve the sandbox's app until the block ends (then close its engine); yield its URL."""
    try:
        with serve(create_app(box.settings, start_worker=False), name=f"siyu-{box.name}") as url:
            yield url
    finally:
        box.engine.dispose()


def sign_in_to_console(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in on the console's login page and wait for the dashboard."""
    page.goto(base_url + "/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(base_url + "/console")
