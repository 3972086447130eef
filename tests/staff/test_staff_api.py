"""Staff API: the authorization matrix, errors with stable codes, nothing written on denial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.models.staff import AuditLog, Role, Staff
from tests.factories import make_staff, make_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def counts(session: Session) -> tuple[int, int]:
    staff = session.scalar(select(func.count()).select_from(Staff))
    audit = session.scalar(select(func.count()).select_from(AuditLog))
    return staff or 0, audit or 0


NEW_STAFF = {"username": "newbie", "password": "long-enough-1", "roles": ["guide"]}

WRITE_ENDPOINTS = [
    ("post", "/api/v1/staff", NEW_STAFF),
    ("post", "/api/v1/staff/{target}/disable", None),
    ("post", "/api/v1/staff/{target}/enable", None),
    ("put", "/api/v1/staff/{target}/roles", {"roles": ["analyst"]}),
    ("post", "/api/v1/staff/{target}/password", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITE_ENDPOINTS)
def test_staff_writes_authorization_matrix(
    api: TestClient, session: Session, method: str, path: str, body: dict[str, object] | None
) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    guide = make_staff(session, roles=[Role.GUIDE])
    target = make_staff(session, roles=[Role.OPERATOR])
    url = path.format(target=target.id)
    kwargs = {"json": body} if body is not None else {}
    guide_token, admin_token = make_token(session, guide), make_token(session, admin)
    before = counts(session)

    anonymous = api.request(method, url, **kwargs)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "auth.required"
    assert counts(session) == before

    denied = api.request(method, url, headers=bearer(guide_token), **kwargs)
    assert denied.status_code == 403
    assert denied.json()["code"] == "auth.permission_denied"
    assert denied.json()["data"] == {"permission": "staff.manage"}
    assert counts(session) == before

    allowed = api.request(method, url, headers=bearer(admin_token), **kwargs)
    assert allowed.status_code in (200, 201), allowed.text
    created = 1 if path == "/api/v1/staff" else 0
    # Every write leaves exactly one audit row.
    assert counts(session) == (before[0] + created, before[1] + 1)


def test_create_staff_returns_the_account_and_audits_it(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    response = api.post(
        "/api/v1/staff",
        json={**NEW_STAFF, "username": "Alice", "display_name": "爱丽丝", "store_id": 7},
        headers=bearer(make_token(session, admin)),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "alice"
    assert body["roles"] == ["guide"]
    assert body["store_id"] == 7
    assert body["is_active"] is True
    assert "password" not in body
    assert "password_hash" not in body
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "staff.create")).all()[-1]
    assert entry.actor == admin.username
    assert entry.staff_id == admin.id
    assert entry.target_id == str(body["id"])
    assert entry.ip == "testclient"


def test_duplicate_username_is_409_and_writes_nothing(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    make_staff(session, username="taken")
    token = make_token(session, admin)
    before = counts(session)
    response = api.post(
        "/api/v1/staff", json={**NEW_STAFF, "username": "TAKEN"}, headers=bearer(token)
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "staff.username_taken"
    assert counts(session) == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({**NEW_STAFF, "roles": ["wizard"]}, "request.invalid", "roles.0"),
        ({**NEW_STAFF, "roles": []}, "request.invalid", "roles"),
        ({"password": "long-enough-1", "roles": ["guide"]}, "request.invalid", "username"),
        ({**NEW_STAFF, "unexpected": 1}, "request.invalid", "unexpected"),
    ],
)
def test_invalid_bodies_are_422_with_field_paths(
    api: TestClient, session: Session, body: dict[str, object], code: str, field: str
) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    token = make_token(session, admin)
    before = counts(session)
    response = api.post("/api/v1/staff", json=body, headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert field in [error["field"] for error in response.json()["data"]["errors"]]
    assert counts(session) == before


def test_weak_password_and_bad_username_have_their_own_codes(
    api: TestClient, session: Session
) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    token = make_token(session, admin)
    weak = api.post("/api/v1/staff", json={**NEW_STAFF, "password": "short"}, headers=bearer(token))
    assert (weak.status_code, weak.json()["code"]) == (422, "staff.weak_password")
    bad = api.post("/api/v1/staff", json={**NEW_STAFF, "username": "a b"}, headers=bearer(token))
    assert (bad.status_code, bad.json()["code"]) == (422, "staff.invalid_username")


def test_expired_and_revoked_tokens_are_401(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    expiring = make_token(session, admin, expires_days=1)
    revoked = api.post("/api/v1/tokens", json={"name": "ci"}, headers=bearer(expiring))
    assert revoked.status_code == 201
    revoked_token = revoked.json()["token"]
    assert revoked.json()["prefix"] == revoked_token[:11]
    assert api.get("/api/v1/me", headers=bearer(revoked_token)).status_code == 200

    gone = api.delete(f"/api/v1/tokens/{revoked.json()['id']}", headers=bearer(expiring))
    assert gone.status_code == 200
    after_revoke = api.get("/api/v1/me", headers=bearer(revoked_token))
    assert (after_revoke.status_code, after_revoke.json()["code"]) == (401, "auth.invalid_token")

    frozen_clock.advance(timedelta(days=1, seconds=1))
    expired = api.get("/api/v1/me", headers=bearer(expiring))
    assert (expired.status_code, expired.json()["code"]) == (401, "auth.invalid_token")


def test_token_of_disabled_staff_stops_working(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    operator = make_staff(session, roles=[Role.OPERATOR])
    operator_token = make_token(session, operator)
    assert api.get("/api/v1/me", headers=bearer(operator_token)).status_code == 200
    disabled = api.post(
        f"/api/v1/staff/{operator.id}/disable", headers=bearer(make_token(session, admin))
    )
    assert disabled.status_code == 200
    assert api.get("/api/v1/me", headers=bearer(operator_token)).status_code == 401


def test_malformed_authorization_header_is_401(api: TestClient) -> None:
    for header in ("Basic abc", "Bearer ", "Bearer nope"):
        response = api.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json()["code"] == "auth.invalid_token"


def test_me_reports_roles_and_permissions(api: TestClient, session: Session) -> None:
    analyst = make_staff(session, roles=[Role.ANALYST])
    body = api.get("/api/v1/me", headers=bearer(make_token(session, analyst))).json()
    assert body["roles"] == ["analyst"]
    assert body["permissions"] == ["analytics.read", "customers.read", "orders.read"]
    assert body["auth_method"] == "token"


def test_last_admin_cannot_be_disabled_or_demoted(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    other = make_staff(session, roles=[Role.ADMIN])
    token = make_token(session, admin)
    self_disable = api.post(f"/api/v1/staff/{admin.id}/disable", headers=bearer(token))
    assert self_disable.json()["code"] == "staff.cannot_disable_self"
    assert api.post(f"/api/v1/staff/{other.id}/disable", headers=bearer(token)).status_code == 200
    demote = api.put(
        f"/api/v1/staff/{admin.id}/roles", json={"roles": ["operator"]}, headers=bearer(token)
    )
    # No other active admin remains once `other` is disabled.
    assert (demote.status_code, demote.json()["code"]) == (409, "staff.last_admin")


def test_reset_password_generates_one_and_ends_sessions(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    target = make_staff(session)
    generation = target.session_generation
    response = api.post(
        f"/api/v1/staff/{target.id}/password", json={}, headers=bearer(make_token(session, admin))
    )
    assert response.status_code == 200
    assert len(response.json()["password"]) >= 12
    session.refresh(target)
    assert target.session_generation == generation + 1


def test_set_roles_changes_permissions(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    target = make_staff(session, roles=[Role.GUIDE])
    response = api.put(
        f"/api/v1/staff/{target.id}/roles",
        json={"roles": ["guide", "store_manager"]},
        headers=bearer(make_token(session, admin)),
    )
    assert response.json()["roles"] == ["guide", "store_manager"]
    body = api.get("/api/v1/me", headers=bearer(make_token(session, target))).json()
    assert "orders.refund" in body["permissions"]


def test_unknown_staff_is_404_with_code(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    response = api.get("/api/v1/staff/999999", headers=bearer(make_token(session, admin)))
    assert (response.status_code, response.json()["code"]) == (404, "staff.not_found")


def test_audit_api_filters_and_pages(api: TestClient, session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    token = make_token(session, admin)
    for index in range(3):
        api.post(
            "/api/v1/staff", json={**NEW_STAFF, "username": f"batch{index}"}, headers=bearer(token)
        )
    page = api.get(
        "/api/v1/audit",
        params={"action": "staff.create", "actor": admin.username, "limit": 2},
        headers=bearer(token),
    ).json()
    assert page["total"] == 3
    assert [entry["detail"]["username"] for entry in page["entries"]] == ["batch2", "batch1"]
    naive = api.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=bearer(token))
    assert naive.status_code == 422
    guide = make_staff(session, roles=[Role.GUIDE])
    assert api.get("/api/v1/audit", headers=bearer(make_token(session, guide))).status_code == 403
