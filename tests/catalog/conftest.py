"""The catalog tests' client: the shared ``api`` client with the catalog routers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.catalog.wiring import mount_catalog


@pytest.fixture
def client(api: TestClient) -> TestClient:
    mount_catalog(api.app)  # type: ignore[arg-type]
    return api
