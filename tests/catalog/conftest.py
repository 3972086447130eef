"""The catalog tests' client: the shared ``api`` client (the app serves the catalog)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(api: TestClient) -> TestClient:
    return api
