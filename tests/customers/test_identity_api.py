"""HTTP: POST /api/v1/identify and the identity-conflict routes (authorization matrix)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.customers.identify import IdentityInput
from siyu.models.customer import Customer, CustomerIdentity, IdentityConflict
from siyu.models.staff import AuditLog, Role
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff, make_token

cipher = make_cipher()
BODY = {
    "identities": [
        {"kind": "unionid", "value": "o6_union"},
        {"kind": "oa_openid", "app_id": "wx123", "value": "oXy"},
    ],
    "traits": {"name": "小红", "birthday": "1998-05-02"},
}


@pytest.fixture
def client(api: TestClient) -> TestClient:
    return api


def bearer(session: Session, *roles: Role) -> dict[str, str]:
    staff = make_staff(session, roles=list(roles))
    return {"Authorization": f"Bearer {make_token(session, staff)}"}


def _customers(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def test_identify_authorization_matrix(client: TestClient, session: Session) -> None:
    assert client.post("/api/v1/identify", json=BODY).status_code == 401
    denied = client.post("/api/v1/identify", json=BODY, headers=bearer(session, Role.ANALYST))
    assert denied.status_code == 403
    assert _customers(session) == 0
    allowed = client.post("/api/v1/identify", json=BODY, headers=bearer(session, Role.INTEGRATION))
    assert allowed.status_code == 200
    body = allowed.json()
    assert body == {"customer_id": body["customer_id"], "created": True, "merged_customer_ids": []}
    again = client.post("/api/v1/identify", json=BODY, headers=bearer(session, Role.OPERATOR))
    assert again.json() == {
        "customer_id": body["customer_id"],
        "created": False,
        "merged_customer_ids": [],
    }
    customer = session.get(Customer, body["customer_id"])
    assert customer is not None
    assert customer.name == "小红"


def test_identify_merges_over_http_and_audits_the_merge(
    client: TestClient, session: Session
) -> None:
    first = make_customer(session, cipher, identities=[IdentityInput("unionid", "o6_union")])
    second = make_customer(session, cipher, identities=[IdentityInput("oa_openid", "oXy", "wx123")])
    response = client.post("/api/v1/identify", json=BODY, headers=bearer(session, Role.OPERATOR))
    assert response.status_code == 200
    assert response.json() == {
        "customer_id": first.id,
        "created": False,
        "merged_customer_ids": [second.id],
    }
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "customer.merge")).one()
    assert (entry.target_id, entry.detail["merged_id"]) == (str(first.id), second.id)


@pytest.mark.parametrize(
    ("identity", "code"),
    [
        ({"kind": "fax", "value": "1"}, "customer.unknown_identity_kind"),
        ({"kind": "phone", "value": "12345"}, "customer.invalid_phone"),
        ({"kind": "oa_openid", "value": "o"}, "customer.invalid_identity"),
        ({"kind": "unionid", "value": "u", "extra": 1}, "request.invalid"),
    ],
)
def test_bad_identities_are_422_and_write_nothing(
    client: TestClient, session: Session, identity: dict[str, Any], code: str
) -> None:
    body = {"identities": [{"kind": "unionid", "value": "ok"}, identity]}
    response = client.post("/api/v1/identify", json=body, headers=bearer(session, Role.OPERATOR))
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert _customers(session) == 0


def test_bad_traits_are_422(client: TestClient, session: Session) -> None:
    body = {"identities": BODY["identities"], "traits": {"birthday": "2999-01-01"}}
    response = client.post("/api/v1/identify", json=body, headers=bearer(session, Role.OPERATOR))
    assert (response.status_code, response.json()["code"]) == (422, "customer.invalid_traits")
    assert _customers(session) == 0


def test_conflict_is_409(client: TestClient, session: Session) -> None:
    make_customer(
        session,
        cipher,
        identities=[IdentityInput("unionid", "u1"), IdentityInput("phone", "13900001111")],
    )
    body = {
        "identities": [
            {"kind": "unionid", "value": "u1"},
            {"kind": "phone", "value": "13900002222"},
        ]
    }
    response = client.post("/api/v1/identify", json=body, headers=bearer(session, Role.OPERATOR))
    assert (response.status_code, response.json()["code"]) == (409, "customer.identity_conflict")
    assert session.scalar(select(func.count()).select_from(CustomerIdentity)) == 2


def test_guide_identifies_within_own_customers(client: TestClient, session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    headers = {"Authorization": f"Bearer {make_token(session, guide)}"}
    created = client.post("/api/v1/identify", json=BODY, headers=headers)
    assert created.status_code == 200
    customer = session.get(Customer, created.json()["customer_id"])
    assert customer is not None
    assert customer.guide_id == guide.id
    make_customer(session, cipher, identities=[IdentityInput("unionid", "someone-else")])
    before = _customers(session)
    other = {"identities": [{"kind": "unionid", "value": "someone-else"}]}
    hidden = client.post("/api/v1/identify", json=other, headers=headers)
    assert hidden.status_code == 404
    assert _customers(session) == before


def _conflict(session: Session, customer_ids: list[int]) -> IdentityConflict:
    from siyu.core import clock

    row = IdentityConflict(
        kind="phone",
        customer_ids=customer_ids,
        detail={"values": []},
        source="t",
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def test_conflict_list_authorization_and_scope(client: TestClient, session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    mine = make_customer(session, cipher, guide_id=guide.id)
    visible = _conflict(session, [mine.id])
    _conflict(session, [make_customer(session, cipher).id])
    url = "/api/v1/customer-conflicts?status=open"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(session, Role.INTEGRATION)).status_code == 403
    everything = client.get(url, headers=bearer(session, Role.OPERATOR))
    assert everything.status_code == 200
    assert len(everything.json()) == 2
    guide_headers = {"Authorization": f"Bearer {make_token(session, guide)}"}
    own = client.get(url, headers=guide_headers).json()
    assert [item["id"] for item in own] == [visible.id]
    assert own[0]["status"] == "open"


@pytest.mark.parametrize("action", ["resolve", "dismiss"])
def test_close_conflict_authorization_matrix(
    client: TestClient, session: Session, action: str
) -> None:
    row = _conflict(session, [])
    url = f"/api/v1/customer-conflicts/{row.id}/{action}"
    body = {"resolution": "checked with the store"}
    assert client.post(url, json=body).status_code == 401
    denied = client.post(url, json=body, headers=bearer(session, Role.ANALYST))
    assert denied.status_code == 403
    session.refresh(row)
    assert row.status == "open"
    allowed = client.post(url, json=body, headers=bearer(session, Role.OPERATOR))
    assert allowed.status_code == 200
    expected = "resolved" if action == "resolve" else "dismissed"
    assert (allowed.json()["status"], allowed.json()["resolution"]) == (
        expected,
        body["resolution"],
    )
    again = client.post(url, json=body, headers=bearer(session, Role.OPERATOR))
    assert (again.status_code, again.json()["code"]) == (409, "customer.conflict_closed")
    missing = client.post(
        "/api/v1/customer-conflicts/999999/resolve",
        json=body,
        headers=bearer(session, Role.OPERATOR),
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "customer.conflict_not_found")


def test_conflict_row_committed_through_the_real_request(
    test_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """No shared session: the request's own transaction rolls back, the row stays."""
    from siyu.app import create_app

    with transaction(session_factory) as session:
        make_customer(
            session,
            cipher,
            identities=[IdentityInput("unionid", "u1"), IdentityInput("phone", "13900001111")],
        )
        headers = bearer(session, Role.OPERATOR)
    app = create_app(test_settings, start_worker=False)
    body = {
        "identities": [
            {"kind": "unionid", "value": "u1"},
            {"kind": "phone", "value": "13900002222"},
        ]
    }
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.post("/api/v1/identify", json=body, headers=headers)
    assert response.status_code == 409
    with transaction(session_factory) as session:
        row = session.scalars(select(IdentityConflict)).one()
        assert row.source.startswith("api:")
        assert session.scalar(select(func.count()).select_from(CustomerIdentity)) == 2
