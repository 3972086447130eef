"""Integers beyond 64 bits in a path are the client's mistake: 422, never 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import make_staff, make_token


def test_huge_ids_are_422(api: TestClient, session: Session) -> None:
    headers = {"Authorization": f"Bearer {make_token(session, make_staff(session))}"}
    for path in (
        "/api/v1/channel-codes/99999999999999999999",
        "/api/v1/customers/99999999999999999999",
    ):
        response = api.get(path, headers=headers)
        assert (response.status_code, response.json()["code"]) == (
            422,
            "request.value_out_of_range",
        )
