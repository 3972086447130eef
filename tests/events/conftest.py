"""Fixtures for tracking tests: an app with the tracking routers, tokens per role."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.models.staff import Role
from tests.factories import make_staff, make_token


def include_tracking_routers(app: FastAPI) -> None:
    """Add the routers this part provides unless siyu/app.py already includes them."""
    from siyu.customers.sessions_api import router as sessions_router
    from siyu.events.api import router as events_router
    from siyu.events.shop_api import router as shop_router

    paths = {getattr(route, "path", "") for route in app.router.routes}
    for router, probe in (
        (events_router, "/api/v1/track"),
        (shop_router, "/api/shop/v1/track"),
        (sessions_router, "/api/v1/customer-sessions"),
    ):
        if probe not in paths:
            app.include_router(router)


@pytest.fixture
def client(api: TestClient) -> TestClient:
    app = api.app
    assert isinstance(app, FastAPI)
    include_tracking_routers(app)
    return api


def bearer(session: Session, role: Role) -> dict[str, str]:
    staff = make_staff(session, roles=[role])
    return {"Authorization": f"Bearer {make_token(session, staff)}"}
