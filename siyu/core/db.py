"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, a busy timeout and
``synchronous=NORMAL`` (durable across process crashes; an OS crash may lose the
last commits, the usual embedded trade-off). Every SQLite transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and later writes can fail
at once with "database is locked" when another writer committed in between, and
busy_timeout does not help with that upgrade. Taking the write lock up front
makes writers queue instead (see docs/decisions/0002); within one process they queue
on a lock that wakes the next writer at once (docs/decisions/0006).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
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

    _install_writer_queue(engine)
    return engine


_WRITER_FLAG = "siyu_holds_writer_lock"


def _install_writer_queue(engine: Engine) -> None:
    """Writers of one engine queue on a lock in this process before ``BEGIN IMMEDIATE``.

    SQLite lets one writer in at a time; the others wait in its busy handler, which
    sleeps and polls (up to 100 ms a nap). Under concurrent requests most of the time
    went to those naps: the process idled while requests queued. A lock in the
    process wakes the next writer the moment the last one commits (decision 0006).
    Other processes (``siyu worker``) still meet at SQLite's own lock and busy
    timeout. Waiting for the lock is bounded by the same busy timeout, so a thread
    that opens a second write transaction while holding one fails like before
    ("database is locked") instead of waiting for ever.
    """
    writer_lock = threading.Lock()
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
            return
        if not writer_lock.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked (waited for the writer lock)")
        connection.info[_WRITER_FLAG] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(connection.info)
            raise

    def _release(info: dict[str, Any]) -> None:
        if info.pop(_WRITER_FLAG, False):
            writer_lock.release()

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Any) -> None:
        _release(connection.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        _release(connection.info)

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # A connection returned without commit or rollback (an abandoned session):
        # the pool resets it, so its turn as writer is over.
        if record is not None:
            _release(record.info)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def read_only_session(factory: sessionmaker[Session]) -> Session:
    """A session for reads only, outside a request: on SQLite it never queues for
    the writer lock (``_install_writer_queue``). Close it after use."""
    connection = factory.kw["bind"].connect().execution_options(**{READ_ONLY_OPTION: True})
    return Session(bind=connection)


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


def driver_rows(session: Session, statement: Executable) -> list[Any]:
    """Every row of ``statement`` as the DBAPI driver returns it (tuples), skipping
    SQLAlchemy's per-row result handling: for id columns read by the hundred
    thousand, that handling was most of the time."""
    result = session.connection().execute(statement)
    try:
        return list(cast(Iterable[Any], result.cursor))
    finally:
        result.close()


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE/DELETE run through ``Session.execute``.

    ``Session.execute`` is typed as returning ``Result``; for DML it is a CursorResult.
    """
    return cast(CursorResult[Any], result).rowcount


def dialect_insert(session: Session, model: Any) -> Any:
    """``INSERT`` with the session's dialect's ``ON CONFLICT`` support (PostgreSQL or
    SQLite, the two engines siyu runs on): insert-or-nothing and upserts."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


CachedT = TypeVar("CachedT")


def cached_for_transaction(session: Session, key: str, build: Callable[[], CachedT]) -> CachedT:
    """``build()`` once per transaction of ``session``, under ``key``.

    For values read on every call of a hot path that change rarely (the member
    program's rules, the tier ladder). Keyed by the transaction object, so a session
    that commits and goes on (a worker batch, the demo) reads them again; a writer of
    the value calls ``forget_cached`` (or stores the new value with ``store_cached``).
    """
    held = session.info.get(key)
    if held is not None and held[0] is not None and held[0] is session.get_transaction():
        return cast(CachedT, held[1])
    value = build()
    store_cached(session, key, value)
    return value


def store_cached(session: Session, key: str, value: Any) -> None:
    session.info[key] = (session.get_transaction(), value)


def forget_cached(session: Session, key: str) -> None:
    session.info.pop(key, None)
