"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, a busy timeout and
``synchronous=NORMAL`` (durable across process crashes; an OS crash may lose the
last commits, the usual embedded trade-off). Every SQLite transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and later writes can fail
at once with "database is locked" when another writer committed in between, and
busy_timeout does not help with that upgrade. Taking the write lock up front
makes writers queue on busy_timeout instead (see docs/decisions/0002).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Connections that only read (health checks, reports) skip the SQLite write lock:
# ``engine.connect().execution_options(siyu_read_only=True)``.
READ_ONLY_OPTION = "siyu_read_only"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them through psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite_url(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if not is_sqlite_url(url):
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        return create_engine(url, **kwargs)

    _prepare_sqlite_file(url)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not pysqlite) decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work outside a request (CLI, jobs): commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE/DELETE run through ``Session.execute``.

    ``Session.execute`` is typed as returning ``Result``; for DML it is a CursorResult.
    """
    return cast(CursorResult[Any], result).rowcount
