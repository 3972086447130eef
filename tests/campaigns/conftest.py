"""A TestClient whose app carries the channel-code routes (whether or not app.py has them yet)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes import api as channel_code_api
from siyu.campaigns.channel_codes import shortlink
from siyu.core.settings import Settings
from siyu.web.console import channel_codes_pages


def include_channel_code_routes(app: FastAPI) -> FastAPI:
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/api/v1/channel-codes" not in paths:
        app.include_router(channel_code_api.router)
    if "/c/{code}" not in paths:
        app.include_router(shortlink.router)
    if "/console/channel-codes" not in paths:
        app.include_router(channel_codes_pages.router)
    return app


@pytest.fixture
def code_client(test_settings: Settings, session: Session) -> Iterator[TestClient]:
    """Like the shared ``api`` fixture: requests share the test's rolled-back session."""
    from siyu.app import create_app
    from siyu.core.http import get_session

    app = include_channel_code_routes(create_app(test_settings, start_worker=False))

    def shared_session() -> Iterator[Session]:
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

    app.dependency_overrides[get_session] = shared_session
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
