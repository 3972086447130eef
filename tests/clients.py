"""Test clients for an app whose requests share a test's rolled-back session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core.settings import Settings


def client_sharing(settings: Settings, session: Session) -> Iterator[TestClient]:
    """A TestClient for an app built from ``settings`` whose requests share ``session``.

    The request still owns its unit of work: a route that raises rolls back to the
    savepoint taken at request start, so denied paths can assert nothing was written.
    Routes that open their own short transactions (``TransactionsDep``) get
    savepoints of the same session.
    """
    from siyu.app import create_app
    from siyu.core.http import get_session, get_transactions

    app = create_app(settings, start_worker=False)

    @contextmanager
    def shared_transaction() -> Iterator[Session]:
        nested = session.begin_nested()
        try:
            yield session
            session.flush()
            if nested.is_active:
                nested.commit()
        except BaseException:
            if nested.is_active:
                nested.rollback()
            raise

    def shared_session() -> Iterator[Session]:
        with shared_transaction() as shared:
            yield shared

    app.dependency_overrides[get_session] = shared_session
    app.dependency_overrides[get_transactions] = lambda: shared_transaction
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
