"""Errors render as problem+json with stable codes; health probes tell the truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.app import create_app
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.staff import Role
from tests.factories import make_staff, make_token


def test_unknown_api_route_is_404_json(api: TestClient) -> None:
    response = api.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "route.not_found"


def test_wrong_method_is_405_json(api: TestClient) -> None:
    response = api.delete("/healthz")
    assert (response.status_code, response.json()["code"]) == (405, "route.method_not_allowed")


def test_declared_oversized_body_is_413(api: TestClient, test_settings: Settings) -> None:
    body = b"x" * (test_settings.max_request_bytes + 1)
    response = api.post("/api/v1/staff", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "request.too_large"


def test_streamed_oversized_body_is_413(api: TestClient, test_settings: Settings) -> None:
    chunk = b"x" * 65536

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(test_settings.max_request_bytes // len(chunk) + 2):
            yield chunk

    response = api.post("/api/v1/staff", content=chunks(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413


def test_malformed_json_is_422_not_500(api: TestClient, session: Session) -> None:
    token = make_token(session, make_staff(session, roles=[Role.ADMIN]))
    response = api.post(
        "/api/v1/staff",
        content=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"


def _app_with_failing_routes(tmp_path: Path) -> TestClient:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/x.db", data_dir=tmp_path, run_worker=False
    )
    app = create_app(settings, start_worker=False)
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    @router.get("/conflict")
    def conflict() -> None:
        raise SiyuError("Nope.", code="demo.conflict", status=409, data={"why": "because"})

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_unexpected_error_is_500_without_trace(tmp_path: Path) -> None:
    with _app_with_failing_routes(tmp_path) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal server error.",
        "status": 500,
        "code": "internal_error",
        "detail": "Internal server error.",
    }
    assert "passwd" not in response.text
    assert "Traceback" not in response.text


def test_siyu_error_carries_code_and_data(tmp_path: Path) -> None:
    with _app_with_failing_routes(tmp_path) as client:
        response = client.get("/conflict")
    assert response.status_code == 409
    assert response.json()["code"] == "demo.conflict"
    assert response.json()["data"] == {"why": "because"}


def test_healthz(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_migrations_current(api: TestClient) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]


def test_readyz_is_503_on_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/empty.db", data_dir=tmp_path, run_worker=False
    )
    with TestClient(create_app(settings, start_worker=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["current"] is None


def test_readyz_checks_redis_when_configured(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/r.db",
        data_dir=tmp_path,
        redis_url=redis_url,
        run_worker=False,
    )
    from siyu.core.migrations import upgrade

    upgrade(settings.database_url)
    with TestClient(create_app(settings, start_worker=False)) as client:
        body = client.get("/readyz").json()
    assert body["checks"]["redis"] == {"ok": True}


def test_openapi_is_served(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    assert "/api/v1/staff" in spec["paths"]
    assert api.get("/docs").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/staff", "/api/v1/audit"])
def test_protected_routes_need_authentication(api: TestClient, path: str) -> None:
    assert api.get(path).status_code == 401
