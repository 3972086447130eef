"""The channel-code API: create, validate, change, list with stats, and who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes import service as code_service
from siyu.models.channel_code import ChannelCode
from siyu.models.customer import Customer, CustomerStaffLink
from siyu.models.staff import AuditLog, Role, Staff
from tests.campaigns.factories import make_channel_code
from tests.factories import make_staff, make_token

BASE = "/api/v1/channel-codes"


def bearer(session: Session, *roles: Role, store_id: int | None = None) -> dict[str, str]:
    staff = make_staff(session, roles=list(roles), store_id=store_id)
    return {"Authorization": f"Bearer {make_token(session, staff)}"}


def code_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ChannelCode)) or 0


def audit_actions(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(AuditLog.action)
            .where(AuditLog.action.startswith("channel_code."))
            .order_by(AuditLog.id)
        )
    )


def new_code(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "春季包裹卡",
        "kind": "parcel_card",
        "touchpoint": "offline",
        "target_url": "https://shop.example.com/h5?from=card",
        "tag_names": ["包裹卡", "季节:春"],
        **overrides,
    }


def test_create_generates_a_code_and_audits(code_client: TestClient, session: Session) -> None:
    response = code_client.post(BASE, json=new_code(), headers=bearer(session, Role.OPERATOR))

    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["code"]) == 8
    assert set(body["code"]) <= set(code_service.CODE_ALPHABET)
    assert body["short_url"] == f"http://testserver/c/{body['code']}"
    assert body["qr_url"] == f"{BASE}/{body['id']}/qr.png"
    assert body["tag_names"] == ["包裹卡", "季节:春"]
    assert body["is_active"] is True
    assert body["poster"] == {"caption": "", "qr_x": 0.5, "qr_y": 0.55, "qr_size": 0.4}
    assert audit_actions(session) == ["channel_code.create"]


def test_custom_code_must_be_unique_and_well_formed(
    code_client: TestClient, session: Session
) -> None:
    headers = bearer(session, Role.OPERATOR)
    assert (
        code_client.post(BASE, json=new_code(code="Spring_2026"), headers=headers).status_code
        == 201
    )

    taken = code_client.post(BASE, json=new_code(code="Spring_2026"), headers=headers)
    assert taken.status_code == 409
    assert taken.json()["code"] == "channel_code.taken"
    for bad in ("ab", "has space", "中文码", "x" * 31):
        refused = code_client.post(BASE, json=new_code(code=bad), headers=headers)
        assert refused.status_code == 422, bad
        assert refused.json()["code"] in {"channel_code.invalid", "request.invalid"}
    assert code_count(session) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"target_url": "javascript:alert(1)"}, "target_url"),
        ({"target_url": "//evil.example.com"}, "target_url"),
        ({"target_url": "ftp://files.example.com"}, "target_url"),
        ({"touchpoint": "Not A Touchpoint"}, "touchpoint"),
        ({"tag_names": ["x" * 65]}, "tag_names"),
    ],
)
def test_invalid_fields_are_refused_with_their_name(
    code_client: TestClient, session: Session, overrides: dict[str, Any], field: str
) -> None:
    response = code_client.post(
        BASE, json=new_code(**overrides), headers=bearer(session, Role.ADMIN)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "channel_code.invalid"
    assert response.json()["data"]["field"] == field
    assert code_count(session) == 0


def test_guide_must_be_an_active_guide_and_brings_their_store(
    code_client: TestClient, session: Session
) -> None:
    headers = bearer(session, Role.OPERATOR)
    guide = make_staff(session, roles=[Role.GUIDE], store_id=12)
    operator = make_staff(session, roles=[Role.OPERATOR])

    refused = code_client.post(BASE, json=new_code(guide_id=operator.id), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "channel_code.invalid_guide"

    created = code_client.post(BASE, json=new_code(guide_id=guide.id), headers=headers)
    assert created.status_code == 201
    assert (created.json()["guide_id"], created.json()["store_id"]) == (guide.id, 12)


def test_update_deactivate_and_poster_layout(code_client: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    code = make_channel_code(session, code="upd-code")

    changed = code_client.patch(
        f"{BASE}/{code.id}",
        json={"name": "新名字", "poster": {"caption": "扫码领券", "qr_size": 0.5}},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "新名字"
    assert changed.json()["poster"]["caption"] == "扫码领券"
    assert changed.json()["poster"]["qr_size"] == 0.5
    assert changed.json()["code"] == "upd-code"

    off = code_client.post(f"{BASE}/{code.id}/deactivate", headers=headers)
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    on = code_client.post(f"{BASE}/{code.id}/activate", headers=headers)
    assert on.json()["is_active"] is True
    assert audit_actions(session) == ["channel_code.update"] * 3

    missing = code_client.patch(f"{BASE}/999999", json={"name": "x"}, headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "channel_code.unknown"


def test_list_and_stats_carry_exact_counts(code_client: TestClient, session: Session) -> None:
    code = make_channel_code(session, code="count-me")
    for _ in range(2):
        code_service.record_scan(session, code)
    headers = bearer(session, Role.GUIDE)

    listed = code_client.get(BASE, headers=headers)
    assert listed.status_code == 200
    [item] = [entry for entry in listed.json()["items"] if entry["code"] == "count-me"]
    expected = {"scans": 2, "new_customers": 0, "returning_customers": 0, "wecom_adds": 0}
    assert item["stats"] == expected
    stats = code_client.get(f"{BASE}/{code.id}/stats", headers=headers)
    assert stats.json() == expected
    windowed = code_client.get(
        f"{BASE}/{code.id}/stats",
        params={"since": "2999-01-01T00:00:00+08:00"},
        headers=headers,
    )
    assert windowed.json()["scans"] == 0
    naive = code_client.get(
        f"{BASE}/{code.id}/stats", params={"since": "2026-01-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422
    assert naive.json()["code"] == "channel_code.invalid"


WRITES = [
    ("post", BASE, {"json": new_code()}, 201),
    ("patch", BASE + "/{id}", {"json": {"name": "changed"}}, 200),
    ("post", BASE + "/{id}/deactivate", {}, 200),
    ("post", BASE + "/{id}/activate", {}, 200),
    # Allowed, then the bytes are refused: the permission check passed, the input did not.
    ("post", BASE + "/{id}/poster", {"files": {"image": ("a.png", b"not png", "image/png")}}, 422),
]
READS = [
    BASE,
    BASE + "/{id}",
    BASE + "/{id}/stats",
    BASE + "/{id}/qr.png",
    BASE + "/{id}/poster.png",
]


def test_writes_need_campaigns_manage(code_client: TestClient, session: Session) -> None:
    # One set of staff for every endpoint: hashing passwords is what makes these slow.
    denied_headers = [bearer(session, Role.GUIDE), bearer(session, Role.STORE_MANAGER)]
    allowed_headers = bearer(session, Role.OPERATOR)
    code = make_channel_code(session, code="matrix-w", name="原名")

    def snapshot() -> tuple[object, ...]:
        session.refresh(code)
        state = (code.name, code.is_active, dict(code.poster))
        return (code_count(session), len(audit_actions(session)), *state)

    for method, path, extra, status in WRITES:
        url = path.format(id=code.id)
        before = snapshot()
        assert code_client.request(method, url, **extra).status_code == 401, url
        for headers in denied_headers:
            denied = code_client.request(method, url, headers=headers, **extra)
            assert denied.status_code == 403, url
        assert snapshot() == before, url
        allowed = code_client.request(method, url, headers=allowed_headers, **extra)
        assert allowed.status_code == status, (url, allowed.text)
    session.refresh(code)
    assert (code.name, code.is_active, code_count(session)) == ("changed", True, 2)
    assert audit_actions(session) == ["channel_code.create"] + ["channel_code.update"] * 3


def test_reads_need_customers_read(code_client: TestClient, session: Session) -> None:
    code = make_channel_code(session, code="matrix-r")
    integration = bearer(session, Role.INTEGRATION)
    readers = [bearer(session, Role.GUIDE), bearer(session, Role.OPERATOR)]
    for path in READS:
        url = path.format(id=code.id)
        assert code_client.get(url).status_code == 401, url
        assert code_client.get(url, headers=integration).status_code == 403, url
        for headers in readers:
            assert code_client.get(url, headers=headers).status_code == 200, url


def test_wecom_add_identifies_links_and_attributes(
    code_client: TestClient, session: Session
) -> None:
    guide = make_staff(session, username="guide.wang", roles=[Role.GUIDE])
    code = make_channel_code(session, code="wecom-c", guide_id=guide.id, tag_names=["企微好友"])
    body = {
        "external_userid": "wmEXT001",
        "corp_id": "ww-corp",
        "staff_username": "guide.wang",
        "state": "wecom-c",
    }

    assert code_client.post(f"{BASE}/wecom-add", json=body).status_code == 401
    denied = code_client.post(f"{BASE}/wecom-add", json=body, headers=bearer(session, Role.ANALYST))
    assert denied.status_code == 403
    assert session.scalar(select(func.count()).select_from(Customer)) == 0

    headers = bearer(session, Role.INTEGRATION)
    first = code_client.post(f"{BASE}/wecom-add", json=body, headers=headers)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["created"] is True
    assert result["staff_id"] == guide.id
    assert result["channel_code_id"] == code.id
    customer = session.get(Customer, result["customer_id"])
    assert customer is not None
    session.refresh(customer)
    assert customer.guide_id == guide.id
    assert customer.first_touch_channel_code_id == code.id

    repeat = code_client.post(f"{BASE}/wecom-add", json=body, headers=headers)
    assert repeat.json()["customer_id"] == result["customer_id"]
    assert repeat.json()["created"] is False
    links = session.scalar(
        select(func.count())
        .select_from(CustomerStaffLink)
        .where(CustomerStaffLink.staff_id == guide.id)
    )
    assert links == 1
    assert code_service.stats(session, [code.id])[code.id] == code_service.ChannelCodeStats(
        scans=0, new_customers=1, returning_customers=0, wecom_adds=2
    )

    unknown = code_client.post(
        f"{BASE}/wecom-add", json={**body, "staff_username": "nobody"}, headers=headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "channel_code.unknown_staff"
    assert (
        session.scalar(select(func.count()).select_from(Staff).where(Staff.username == "nobody"))
        == 0
    )
