"""Test clients for an app whose requests share a test's rolled-back session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core.settings import Settings

# Built apps by what create_app reads at build time (the rest comes from app.state,
# swapped per test). Building one costs ~0.35 s (FastAPI analyses ~1,000 routes) and
# about a thousand tests use a client: reusing it saves minutes of the suite.
_apps: dict[tuple[str, int], FastAPI] = {}
_route_counts: dict[tuple[str, int], int] = {}


def _app_for(settings: Settings) -> FastAPI:
    from siyu.app import create_app
    from siyu.core.crypto import PiiCipher

    secret_key = settings.resolved_secret_key()
    key = (secret_key, settings.max_request_bytes)
    app = _apps.get(key)
    if app is None:
        app = _apps[key] = create_app(settings, start_worker=False)
        _route_counts[key] = len(app.router.routes)
    elif len(app.router.routes) != _route_counts[key]:
        # A test that adds routes to the shared app changes every later test's app.
        raise RuntimeError("a test changed the shared app's routes: build its own app")
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.pii = PiiCipher(secret_key)
    return app


def client_sharing(settings: Settings, session: Session) -> Iterator[TestClient]:
    """A TestClient for an app built from ``settings`` whose requests share ``session``.

    The request still owns its unit of work: a route that raises rolls back to the
    savepoint taken at request start, so denied paths can assert nothing was written.
    Routes that open their own short transactions (``TransactionsDep``) get
    savepoints of the same session.
    """
    from siyu.core.http import get_session, get_transactions

    app = _app_for(settings)

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

    app.dependency_overrides.clear()
    app.dependency_overrides[get_session] = shared_session
    app.dependency_overrides[get_transactions] = lambda: shared_transaction
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
