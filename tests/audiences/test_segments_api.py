"""Segment API: CRUD and archive, members (scoped, masked), sizes, reach per channel,
the streamed CSV export (PII per permission), static uploads, coupon grants to a
segment, bad input, and the authorization matrix of every endpoint."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.segments import service as segments
from siyu.core import clock
from siyu.customers.identify import IdentityInput
from siyu.models.audience import CustomerTrait, Segment, SegmentMember, SegmentSize
from siyu.models.coupon import Coupon
from siyu.models.customer import CustomerStaffLink
from siyu.models.staff import AuditLog, Role
from tests.audiences.segments_helpers import count, make_customers, make_segment, members
from tests.catalog.factories import bearer, customer_headers
from tests.coupons.factories import make_template
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff, make_token

RULE = {"attribute": "city", "op": "=", "value": "上海"}


def _fill(session: Session, segment: Segment, ids: list[int]) -> None:
    segments.record_membership(
        session, segment, np.asarray(sorted(ids), dtype=np.int64), now=clock.now()
    )


def _snapshot(session: Session) -> tuple[int, ...]:
    return (count(session, Segment), count(session, SegmentMember), count(session, SegmentSize))


def test_create_update_archive_restore(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    created = api.post(
        "/api/v1/audiences/segments",
        json={"name": "上海顾客", "rule": RULE, "refresh_minutes": 30},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["status"], body["member_count"], body["refresh_minutes"]) == (
        "rule",
        "active",
        0,
        30,
    )
    segment_id = body["id"]
    duplicate = api.post(
        "/api/v1/audiences/segments", json={"name": "上海顾客", "rule": RULE}, headers=headers
    )
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "audience.segment_exists")
    changed = api.patch(
        f"/api/v1/audiences/segments/{segment_id}",
        json={"name": "上海的顾客", "refresh_minutes": 120},
        headers=headers,
    )
    assert (changed.json()["name"], changed.json()["refresh_minutes"]) == ("上海的顾客", 120)
    archived = api.post(f"/api/v1/audiences/segments/{segment_id}/archive", headers=headers)
    assert (archived.json()["status"], archived.json()["next_refresh_at"]) == ("archived", None)
    assert api.get("/api/v1/audiences/segments", headers=headers).json()["items"] == []
    listed = api.get("/api/v1/audiences/segments?include_archived=true", headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [segment_id]
    refused = api.patch(
        f"/api/v1/audiences/segments/{segment_id}", json={"name": "x"}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "audience.segment_archived")
    restored = api.post(f"/api/v1/audiences/segments/{segment_id}/restore", headers=headers)
    assert restored.json()["status"] == "active"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "无规则", "kind": "rule"}, 422, "audience.segment_invalid"),
        ({"name": "静态带规则", "kind": "static", "rule": RULE}, 422, "audience.segment_invalid"),
        (
            {"name": "窗口为零", "rule": {"event": "order", "window": {"days": 0}}},
            400,
            "audience.rule_invalid",
        ),
        (
            {"name": "未知字段", "rule": {"trait": "nope", "op": "=", "value": 1}},
            400,
            "audience.rule_invalid",
        ),
        ({"name": "太频繁", "rule": RULE, "refresh_minutes": 1}, 422, "request.invalid"),
        ({"name": " ", "rule": RULE}, 422, "audience.segment_invalid"),
    ],
)
def test_bad_segments_are_refused(
    api: TestClient, session: Session, body: dict[str, Any], status: int, code: str
) -> None:
    headers = bearer(session, Role.OPERATOR)
    before = _snapshot(session)
    response = api.post("/api/v1/audiences/segments", json=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert _snapshot(session) == before


def test_members_are_scoped_and_masked(api: TestClient, session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    guide_headers = {"Authorization": f"Bearer {make_token(session, guide)}"}
    mine = make_customers(session, 2, guide_id=guide.id)
    others = make_customers(session, 3)
    segment = make_segment(session)
    _fill(session, segment, [*mine, *others])
    page = api.get(f"/api/v1/audiences/segments/{segment.id}/members", headers=guide_headers)
    assert page.status_code == 200
    assert [(m["customer_id"], m["masked"]) for m in page.json()["items"]] == [
        (mine[0], True),
        (mine[1], True),
    ]
    assert page.json()["items"][0]["name"] == "顾**"
    operator = bearer(session, Role.OPERATOR)
    first = api.get(
        f"/api/v1/audiences/segments/{segment.id}/members?limit=3", headers=operator
    ).json()
    assert [m["customer_id"] for m in first["items"]] == sorted([*mine, *others])[:3]
    rest = api.get(
        f"/api/v1/audiences/segments/{segment.id}/members?limit=3&cursor={first['next_cursor']}",
        headers=operator,
    ).json()
    assert [m["customer_id"] for m in rest["items"]] == sorted([*mine, *others])[3:]
    assert rest["next_cursor"] is None
    admin = bearer(session, Role.ADMIN)
    revealed = api.get(f"/api/v1/audiences/segments/{segment.id}/members", headers=admin).json()
    assert (revealed["items"][0]["name"], revealed["items"][0]["masked"]) == ("顾客0", False)


def test_reach_counts_each_channel(api: TestClient, session: Session) -> None:
    cipher = make_cipher()
    now = clock.now()
    staff = make_staff(session, roles=[Role.GUIDE])
    oa = make_customer(session, cipher, identities=[IdentityInput("oa_openid", "o-1", "wx-oa")])
    mp_quota = make_customer(session, cipher, identities=[IdentityInput("mp_openid", "m-1", "mp")])
    mp_none = make_customer(session, cipher, identities=[IdentityInput("mp_openid", "m-2", "mp")])
    wecom = make_customer(session, cipher)
    gone = make_customer(session, cipher)
    nobody = make_customer(session, cipher)
    for customer, quota in ((mp_quota, 2), (mp_none, 0)):
        session.add(CustomerTrait(customer_id=customer.id, subscribe_quota=quota, computed_at=now))
    session.add(CustomerStaffLink(customer_id=wecom.id, staff_id=staff.id, added_at=now))
    session.add(
        CustomerStaffLink(customer_id=gone.id, staff_id=staff.id, added_at=now, removed_at=now)
    )
    segment = make_segment(session)
    _fill(session, segment, [c.id for c in (oa, mp_quota, mp_none, wecom, gone, nobody)])
    response = api.get(
        f"/api/v1/audiences/segments/{segment.id}/reach", headers=bearer(session, Role.OPERATOR)
    )
    assert response.json() == {
        "segment_id": segment.id,
        "members": 6,
        "oa": 1,
        "mp_subscribe": 1,
        "wecom": 1,
        "any_channel": 3,
    }


def _export(api: TestClient, segment_id: int, headers: dict[str, str]) -> list[list[str]]:
    response = api.get(f"/api/v1/audiences/segments/{segment_id}/export.csv", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


def test_export_streams_members_with_phones_per_permission(
    api: TestClient, session: Session
) -> None:
    cipher = make_cipher()
    customer = make_customer(
        session, cipher, name="王小红", identities=[IdentityInput("phone", "13812345678")]
    )
    segment = make_segment(session)
    _fill(session, segment, [customer.id])
    masked = _export(api, segment.id, bearer(session, Role.OPERATOR))
    assert masked[0][:3] == ["customer_id", "name", "phone"]
    assert masked[1][:3] == [str(customer.id), "王**", "138****5678"]
    plain = _export(api, segment.id, bearer(session, Role.ADMIN))
    assert plain[1][:3] == [str(customer.id), "王小红", "13812345678"]
    actions = session.scalars(select(AuditLog.action).where(AuditLog.action == "segment.export"))
    assert len(list(actions)) == 2


def test_upload_through_the_api(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    ids = make_customers(session, 2)
    created = api.post(
        "/api/v1/audiences/segments", json={"name": "名单", "kind": "static"}, headers=headers
    ).json()
    assert created["refresh_minutes"] is None
    response = api.post(
        f"/api/v1/audiences/segments/{created['id']}/upload",
        content=f"customer_id\n{ids[0]}\n{ids[1]}\nnot-an-id\n".encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["imported"], body["member_count"]) == (3, 2, 2)
    assert body["problems"] == [
        {"row": 4, "value": "not-an-id", "code": "invalid_id", "survivor_id": None}
    ]
    garbled = api.post(
        f"/api/v1/audiences/segments/{created['id']}/upload",
        content=b"\xff\xfe\xfa",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert (garbled.status_code, garbled.json()["code"]) == (422, "audience.static_unreadable")
    empty = api.post(
        f"/api/v1/audiences/segments/{created['id']}/upload",
        content=b"",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert (empty.status_code, empty.json()["code"]) == (422, "audience.static_empty")
    assert members(session, created["id"]) == sorted(ids)
    sizes = api.get(f"/api/v1/audiences/segments/{created['id']}/sizes", headers=headers).json()
    assert [(s["size"], s["entered"]) for s in sizes["items"]] == [(2, 2)]


def test_coupon_grant_to_a_segment_issues_per_member(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    ids = make_customers(session, 3)
    template = make_template(session, per_customer_limit=1)
    segment = make_segment(session)
    _fill(session, segment, ids)
    response = api.post(
        f"/api/v1/coupon-templates/{template.id}/segment-grants",
        json={"segment_id": segment.id},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["issued"], body["skipped"]) == (3, 3, 0)
    assert [row["customer_id"] for row in body["results"]] == ids
    again = api.post(
        f"/api/v1/coupon-templates/{template.id}/segment-grants",
        json={"segment_id": segment.id},
        headers=headers,
    ).json()
    # The per-customer limit refuses each row the second time, reported per row.
    assert (again["issued"], {row["code"] for row in again["results"]}) == (
        0,
        {"coupon.limit_reached"},
    )
    assert count(session, Coupon) == 3
    missing = api.post(
        f"/api/v1/coupon-templates/{template.id}/segment-grants",
        json={"segment_id": 999999},
        headers=headers,
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "audience.segment_not_found")
    denied = api.post(
        f"/api/v1/coupon-templates/{template.id}/segment-grants",
        json={"segment_id": segment.id},
        headers=bearer(session, Role.ANALYST),
    )
    assert denied.status_code == 403
    assert count(session, Coupon) == 3


Who = Callable[[Session], dict[str, str]]


def _endpoints(session: Session) -> list[tuple[str, str, Any, Role, Role]]:
    """(method, path, body, a role without the permission, a role with it)."""
    rule_segment = make_segment(session, kind="rule", rule=RULE)
    static_segment = make_segment(session)
    (customer,) = make_customers(session, 1)
    manage = (Role.ANALYST, Role.OPERATOR)
    read = (Role.INTEGRATION, Role.ANALYST)
    base = "/api/v1/audiences/segments"
    return [
        ("GET", base, None, *read),
        ("POST", base, {"name": "新人群", "rule": RULE}, *manage),
        ("GET", f"{base}/{rule_segment.id}", None, *read),
        ("PATCH", f"{base}/{rule_segment.id}", {"description": "说明"}, *manage),
        ("POST", f"{base}/{rule_segment.id}/refresh", None, *manage),
        ("GET", f"{base}/{rule_segment.id}/members", None, *read),
        ("GET", f"{base}/{rule_segment.id}/sizes", None, *read),
        ("GET", f"{base}/{rule_segment.id}/reach", None, *read),
        ("GET", f"{base}/{rule_segment.id}/export.csv", None, *read),
        ("POST", f"{base}/{static_segment.id}/upload", f"{customer}\n", *manage),
        ("POST", f"{base}/{rule_segment.id}/archive", None, *manage),
        ("POST", f"{base}/{rule_segment.id}/restore", None, *manage),
    ]


@pytest.mark.parametrize("who", ["anonymous", "customer", "without", "with"])
def test_authorization_matrix(
    api: TestClient, session: Session, who: str, frozen_clock: clock.FrozenClock
) -> None:
    for method, path, body, without, allowed in _endpoints(session):
        if who == "anonymous":
            headers: dict[str, str] = {}
        elif who == "customer":
            headers = customer_headers(session, make_cipher())
        else:
            headers = bearer(session, without if who == "without" else allowed)
        before = _snapshot(session), count(session, AuditLog)
        kwargs: dict[str, Any] = (
            {"content": body.encode(), "headers": {**headers, "Content-Type": "text/csv"}}
            if isinstance(body, str)
            else {"json": body, "headers": headers}
        )
        response = api.request(method, path, **kwargs)
        if who == "with":
            assert response.status_code in (200, 201), (method, path, response.text)
            continue
        expected = 403 if who == "without" else 401
        assert response.status_code == expected, (method, path, who, response.text)
        assert (_snapshot(session), count(session, AuditLog)) == before, (method, path)
    frozen_clock.advance(timedelta(seconds=1))
