"""The channel-code tests' client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def code_client(api: TestClient) -> TestClient:
    """The shared ``api`` client (requests share the test's rolled-back session)."""
    return api
