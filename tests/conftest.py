"""Shared fixtures: real SQLite and real PostgreSQL, migrated once per test run.

* ``db_url`` is parametrised over both engines; a test that takes ``engine`` or
  ``session`` runs twice. PostgreSQL comes from ``SIYU_TEST_POSTGRES_URL``
  (default: 127.0.0.1:5432, trust auth, database ``test``). When it is not
  reachable the PostgreSQL half is skipped locally and *fails* under ``CI=true``.
* ``session`` runs inside an outer transaction that is rolled back after the test;
  ``commit()`` inside it only releases a savepoint.
* ``committed_engine`` is for tests that need real commits seen by other
  connections (workers, concurrency, crash/restart); every table is emptied after.
* ``redis_url`` is a real Redis (``SIYU_TEST_REDIS_URL``, default db 15 on
  127.0.0.1:6379), flushed before each test; same skip/fail rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from siyu.core import clock, security
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.models import Base
from tests.clients import client_sharing

pytest_plugins = ["tests.fakes.fixtures"]

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from siyu.core.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
BASE_POSTGRES_URL = os.environ.get(
    "SIYU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BASE_REDIS_URL = os.environ.get("SIYU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Under pytest-xdist (`pytest -n 2`, what `make test` runs) each worker gets its own
# PostgreSQL database and Redis db, since tests empty whole tables and flush Redis.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_index() -> int:
    return int(XDIST_WORKER.removeprefix("gw")) if XDIST_WORKER else 0


def _per_worker_postgres(url: str) -> str:
    if not XDIST_WORKER:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{XDIST_WORKER}").render_as_string(
        hide_password=False
    )


def _per_worker_redis(url: str) -> str:
    base, _, db = url.rpartition("/")
    # Counting down from the given db (15, 14, …) keeps clear of the low dbs people use.
    return f"{base}/{int(db or 0) - _worker_index()}"


POSTGRES_URL = _per_worker_postgres(BASE_POSTGRES_URL)
REDIS_URL = _per_worker_redis(BASE_REDIS_URL)
ENGINES = ["sqlite", "postgresql"]


def unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable: {error}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Argon2 at production cost (~0.1 s per hash, as much per check) was a fifth of
    the suite: most API and console tests make staff and sign in. Tests hash with the
    cheapest parameters; the hashes stay real argon2id and verify the same way, and
    production keeps the library's defaults (``siyu.core.security``)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", cheap)
        patch.setattr(security, "_DUMMY_HASH", cheap.hash("siyu-dummy-password"))
        yield


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "siyu-test.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


_postgres_state: dict[str, object] = {}


def _create_worker_database() -> None:
    if POSTGRES_URL == BASE_POSTGRES_URL:
        return
    name = make_url(POSTGRES_URL).database
    admin = make_engine(BASE_POSTGRES_URL, pool_pre_ping=False)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def _migrated_postgres() -> str:
    if "url" in _postgres_state:
        return str(_postgres_state["url"])
    if "error" in _postgres_state:
        raise RuntimeError(str(_postgres_state["error"]))
    try:
        _create_worker_database()
        engine = make_engine(POSTGRES_URL, pool_pre_ping=False)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(POSTGRES_URL)
    except Exception as error:
        _postgres_state["error"] = error
        raise
    _postgres_state["url"] = POSTGRES_URL
    return POSTGRES_URL


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    try:
        return _migrated_postgres()
    except Exception as error:
        unavailable("PostgreSQL", error)
        raise


_engines: dict[str, Engine] = {}


@pytest.fixture
def engine(db_url: str) -> Engine:
    if db_url not in _engines:
        _engines[db_url] = make_engine(db_url)
    return _engines[db_url]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def empty_all_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    empty_all_tables(engine)
    try:
        yield engine
    finally:
        empty_all_tables(engine)


@pytest.fixture
def session_factory(committed_engine: Engine):  # type: ignore[no-untyped-def]
    return make_session_factory(committed_engine)


@pytest.fixture
def write(committed_engine: Engine) -> Callable[[], AbstractContextManager[Session]]:
    """``with write() as session:`` commits, so another connection (the warehouse
    exporter's) sees it."""
    factory = make_session_factory(committed_engine)

    def open_transaction() -> AbstractContextManager[Session]:
        return transaction(factory)

    return open_transaction


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    frozen = clock.FrozenClock(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))
    previous = clock.install(frozen)
    try:
        yield frozen
    finally:
        clock.install(previous)


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        client.close()
    except Exception as error:
        unavailable("Redis", error)
    return REDIS_URL


@pytest.fixture
def test_settings(db_url: str, tmp_path: Path) -> Settings:
    from siyu.core.settings import Settings

    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        run_worker=False,
    )


@pytest.fixture
def api(test_settings: Settings, session: Session) -> Iterator[TestClient]:
    """A TestClient whose requests share the test's rolled-back session."""
    yield from client_sharing(test_settings, session)


CHROMIUM = os.environ.get("SIYU_TEST_CHROMIUM", "/usr/bin/chromium")
# Debian's Chromium, never a downloaded one; the flags keep it off this closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run.

    Playwright's sync API allows one running instance per thread, so every browser
    test shares this session fixture rather than starting its own.
    """
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # A fresh context per test: its own cookies, so every test starts signed out.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 860})
    context.set_default_timeout(5000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
