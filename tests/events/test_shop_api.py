"""Customer sessions (issue + resolve) and the storefront tracking endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import security
from siyu.core.clock import FrozenClock
from siyu.customers import sessions
from siyu.customers.identify import IdentityInput
from siyu.events import shop_api
from siyu.models.customer import Customer, CustomerIdentity, CustomerSession, CustomerStatus
from siyu.models.staff import AuditLog, Role
from siyu.models.tracking import TrackedEvent
from tests.customers.factories import make_cipher, make_customer
from tests.events.conftest import bearer
from tests.events.factories import make_event

ISSUE = "/api/v1/customer-sessions"
SHOP_TRACK = "/api/shop/v1/track"
ANONYMOUS_TRACK = "/api/shop/v1/track/anonymous"


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def issue(client: TestClient, session: Session, **body: Any) -> Any:
    payload = {"identities": [{"kind": "anonymous_id", "value": "device-9"}], "touchpoint": "mp"}
    return client.post(ISSUE, json=payload | body, headers=bearer(session, Role.INTEGRATION))


def test_issue_session_matrix(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    body = {"identities": [{"kind": "anonymous_id", "value": "device-9"}], "touchpoint": "mp"}
    assert client.post(ISSUE, json=body).status_code == 401
    for role in (Role.ANALYST, Role.GUIDE, Role.STORE_MANAGER):
        denied = client.post(ISSUE, json=body, headers=bearer(session, role))
        assert (denied.status_code, denied.json()["code"]) == (403, "auth.permission_denied")
    assert (count(session, CustomerSession), count(session, Customer)) == (0, 0)

    response = issue(client, session, ttl_days=7)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["token"].startswith("sc_")
    record = session.scalars(select(CustomerSession)).one()
    assert record.token_hash == security.hash_token(data["token"])
    assert data["token"] not in record.token_hash
    assert record.customer_id == data["customer_id"]
    assert record.expires_at == frozen_clock.now() + timedelta(days=7)
    owner = session.scalars(
        select(CustomerIdentity.customer_id).where(CustomerIdentity.value == "device-9")
    ).one()
    assert owner == data["customer_id"]
    actions = session.scalars(select(AuditLog.action)).all()
    assert "customer_session.create" in actions


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"touchpoint": "fax"}, 422, "customer.invalid_session_request"),
        ({"ttl_days": 0}, 422, "customer.invalid_session_request"),
        ({"ttl_days": 91}, 422, "customer.invalid_session_request"),
        ({"identities": []}, 422, "request.invalid"),
        ({"identities": [{"kind": "phone", "value": "123"}]}, 422, "customer.invalid_phone"),
    ],
)
def test_issue_session_bad_input_writes_nothing(
    client: TestClient, session: Session, body: dict[str, Any], status: int, code: str
) -> None:
    response = issue(client, session, **body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert (count(session, CustomerSession), count(session, Customer)) == (0, 0)


def test_shop_track_needs_a_live_session(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    events = {"events": [make_event()]}
    for headers in (
        {},
        {"X-Siyu-Customer-Token": "sc_unknown"},
        {"Authorization": "Bearer sc_unknown"},
    ):
        response = client.post(SHOP_TRACK, json=events, headers=headers)
        assert (response.status_code, response.json()["code"]) == (
            401,
            "customer.session_invalid",
        )
    token = issue(client, session, ttl_days=1).json()["token"]
    frozen_clock.advance(days=1)
    expired = client.post(SHOP_TRACK, json=events, headers={"X-Siyu-Customer-Token": token})
    assert expired.status_code == 401
    assert count(session, TrackedEvent) == 0


def test_shop_track_attributes_events_to_the_session_customer(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    issued = issue(client, session).json()
    token, customer_id = issued["token"], issued["customer_id"]
    other = make_event(identities=[{"kind": "anonymous_id", "value": "someone-else"}])
    ways: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({"X-Siyu-Customer-Token": token}, {"events": [other]}),
        ({"Authorization": f"Bearer {token}"}, {"events": [make_event()]}),
        ({}, {"events": [make_event()], "session_token": token}),
    ]
    for headers, body in ways:
        response = client.post(SHOP_TRACK, json=body, headers=headers)
        assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert set(session.scalars(select(TrackedEvent.customer_id))) == {customer_id}
    # Identities inside the events are ignored: no customer was made for them.
    assert count(session, Customer) == 1


def test_session_follows_a_merge_and_refuses_erased(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    cipher = make_cipher()
    survivor = make_customer(session, cipher)
    merged = make_customer(session, cipher)
    raw, _record = sessions.create_session(session, customer_id=merged.id, touchpoint="mp")
    merged.status = CustomerStatus.MERGED
    merged.merged_into_id = survivor.id
    session.flush()
    resolved = sessions.resolve_token(session, raw)
    assert resolved is not None
    assert resolved.customer_id == survivor.id
    survivor.status = CustomerStatus.ERASED
    session.flush()
    assert sessions.resolve_token(session, raw) is None
    assert sessions.resolve_token(session, "siyu_not_a_session") is None


def test_anonymous_track_accepts_only_anonymous_ids(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    phone = make_event(identities=[{"kind": "phone", "value": "13800138000"}])
    response = client.post(ANONYMOUS_TRACK, json={"events": [make_event(), phone]})
    body = response.json()
    assert (body["accepted"], [(r["index"], r["code"]) for r in body["rejected"]]) == (
        1,
        [(1, "event.anonymous_only")],
    )
    too_many = client.post(ANONYMOUS_TRACK, json={"events": [make_event() for _ in range(101)]})
    assert (too_many.status_code, too_many.json()["code"]) == (413, "event.batch_too_large")
    assert count(session, TrackedEvent) == 1


def test_anonymous_track_is_rate_limited_per_ip(
    client: TestClient,
    session: Session,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shop_api, "ANONYMOUS_REQUESTS_PER_MINUTE", 2)
    statuses = [
        client.post(ANONYMOUS_TRACK, json={"events": [make_event()]}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    limited = client.post(ANONYMOUS_TRACK, json={"events": [make_event()]})
    assert limited.json()["code"] == "event.rate_limited"
    assert limited.headers["Retry-After"] == "60"
    assert count(session, TrackedEvent) == 2
    frozen_clock.advance(seconds=61)
    assert client.post(ANONYMOUS_TRACK, json={"events": [make_event()]}).status_code == 200


def test_session_identity_input_namespace() -> None:
    from siyu.customers.sessions_api import SessionIdentityIn

    item = SessionIdentityIn(kind="mp_openid", value="o-1", app_id="wx9")
    assert item.as_input() == IdentityInput(kind="mp_openid", value="o-1", namespace="wx9")


def test_current_customer_dependency_for_storefront_routes(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    # The app is shared by the worker's tests (tests/clients.py): the route goes after.
    routes_before = len(app.router.routes)

    @app.get("/api/shop/v1/test-me")
    def me(customer: sessions.CurrentCustomer) -> dict[str, int]:
        return {"customer_id": customer.customer_id}

    try:
        issued = issue(client, session).json()
        response = client.get(
            "/api/shop/v1/test-me", headers={"X-Siyu-Customer-Token": issued["token"]}
        )
        assert response.json() == {"customer_id": issued["customer_id"]}
        denied = client.get("/api/shop/v1/test-me", headers={"Authorization": "Bearer siyu_staff"})
        assert (denied.status_code, denied.json()["code"]) == (401, "customer.session_invalid")
    finally:
        del app.router.routes[routes_before:]
