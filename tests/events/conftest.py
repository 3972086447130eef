"""Fixtures for tracking tests: an app with the tracking routers, tokens per role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.models.staff import Role
from tests.factories import make_staff, make_token


@pytest.fixture
def client(api: TestClient) -> TestClient:
    return api


def bearer(session: Session, role: Role) -> dict[str, str]:
    staff = make_staff(session, roles=[role])
    return {"Authorization": f"Bearer {make_token(session, staff)}"}
