"""Operator coupon API: templates per kind, rules summary, transitions, locks, grants,
sending, write-off, and who may call what."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.staff import AuditLog, Role
from tests.catalog.factories import bearer
from tests.coupons.factories import give, make_template, shop_headers, snapshot
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff, make_token
from tests.orders.factories import make_shelf

VALID_UNTIL = "2026-12-31T15:59:59Z"


def threshold_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "满200减30",
        "kind": "threshold",
        "threshold_amount": 20000,
        "discount_amount": 3000,
        "valid_until": VALID_UNTIL,
        "total_quantity": 100,
        "per_customer_limit": 1,
        "in_coupon_centre": True,
    }
    body.update(changes)
    return body


def test_create_a_threshold_template_with_its_rules_summary(
    api: TestClient, session: Session
) -> None:
    response = api.post("/api/v1/coupon-templates", json=threshold_body(), headers=bearer(session))
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["status"] == "draft"
    assert data["rules"] == [
        {"zh": "满减券", "en": "Threshold coupon"},
        {"zh": "满 ¥200.00 减 ¥30.00", "en": "¥30.00 off orders of ¥200.00 or more"},
        {"zh": "全部商品可用", "en": "All products"},
        {"zh": "适用渠道：商城、门店", "en": "Channels: mall and store"},
        {"zh": "有效期至 2026-12-31 23:59", "en": "Valid until 2026-12-31 23:59"},
        {"zh": "共 100 张", "en": "100 coupons in total"},
        {"zh": "每人限领 1 张", "en": "At most 1 per customer"},
        {"zh": "活动价商品不可用", "en": "Not on campaign-priced items"},
        {"zh": "每单限用一张，不与其他优惠券同享", "en": "One coupon per order"},
    ]
    assert data["stats"]["issued"] == 0
    assert session.scalars(select(AuditLog.action).order_by(AuditLog.id.desc())).first() == (
        "coupon.template_create"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"threshold_amount": 3000}, "threshold_amount"),  # threshold must exceed the discount
        ({"discount_amount": 0}, "discount_amount"),
        ({"kind": "percent_off", "discount_amount": 0}, "discount_rate"),
        (
            {
                "kind": "percent_off",
                "discount_amount": 0,
                "discount_rate": 8500,
                "max_discount_amount": 0,
            },
            "max_discount_amount",
        ),
        ({"kind": "gift", "discount_amount": 0}, "gift_sku_id"),
        ({"kind": "no_threshold"}, "threshold_amount"),
        ({"kind": "free_shipping"}, "discount_amount"),
        ({"scope": "categories"}, "scope_ids"),
        ({"scope": "products", "scope_ids": [999999]}, "scope_ids"),
        ({"channels": ["moon"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"valid_until": None}, "valid_until"),
        ({"validity": "relative"}, "valid_days"),
        (
            {"claim_starts_at": "2026-12-01T00:00:00Z", "claim_ends_at": "2026-11-30T00:00:00Z"},
            "claim_ends_at",
        ),
    ],
)
def test_invalid_templates_are_refused_and_nothing_is_written(
    api: TestClient, session: Session, changes: dict[str, Any], field: str
) -> None:
    headers = bearer(session)
    before = snapshot(session)
    response = api.post("/api/v1/coupon-templates", json=threshold_body(**changes), headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "coupon.template_invalid"
    assert response.json()["data"]["field"] == field
    assert snapshot(session) == before


def test_every_kind_can_be_created(api: TestClient, session: Session) -> None:
    shelf = make_shelf(session)
    headers = bearer(session)
    bodies = [
        threshold_body(),
        threshold_body(kind="no_threshold", threshold_amount=0, discount_amount=500),
        threshold_body(
            kind="percent_off",
            threshold_amount=0,
            discount_amount=0,
            discount_rate=8500,
            max_discount_amount=5000,
        ),
        threshold_body(
            kind="gift", threshold_amount=0, discount_amount=0, gift_sku_id=shelf.skus[1].id
        ),
        threshold_body(
            kind="free_shipping",
            threshold_amount=0,
            discount_amount=0,
            validity="relative",
            valid_until=None,
            valid_days=7,
        ),
        threshold_body(
            scope="stores",
            scope_ids=[shelf.store.id],
            channels=["store"],
            stackable_with=["free_shipping"],
        ),
    ]
    for body in bodies:
        response = api.post("/api/v1/coupon-templates", json=body, headers=headers)
        assert response.status_code == 201, (body, response.text)
    listed = api.get("/api/v1/coupon-templates", headers=headers).json()["items"]
    assert len(listed) == len(bodies)
    percent = next(item for item in listed if item["kind"] == "percent_off")
    assert percent["rules"][1] == {
        "zh": "8.5 折，最多减 ¥50.00",
        "en": "Pay 85% of the price, at most ¥50.00 off",
    }


def test_transitions_and_locks(api: TestClient, session: Session) -> None:
    headers = bearer(session)
    created = api.post("/api/v1/coupon-templates", json=threshold_body(), headers=headers).json()
    url = f"/api/v1/coupon-templates/{created['id']}"
    assert (
        api.post(f"{url}/pause", headers=headers).json()["code"]
        == "coupon.template_invalid_transition"
    )
    assert api.post(f"{url}/activate", headers=headers).json()["status"] == "active"
    customer = make_customer(session, make_cipher())
    give(session, session.get_one(CouponTemplate, created["id"]), customer.id)
    locked = api.patch(url, json={"discount_amount": 5000}, headers=headers)
    assert (locked.status_code, locked.json()["code"]) == (409, "coupon.template_locked")
    too_few = api.patch(url, json={"total_quantity": 0}, headers=headers)
    assert too_few.status_code == 422
    renamed = api.patch(url, json={"name": "新名字", "total_quantity": 200}, headers=headers)
    assert (renamed.status_code, renamed.json()["name"], renamed.json()["total_quantity"]) == (
        200,
        "新名字",
        200,
    )
    assert renamed.json()["stats"]["issued"] == 1
    assert api.post(f"{url}/pause", headers=headers).json()["status"] == "paused"
    assert api.post(f"{url}/end", headers=headers).json()["status"] == "ended"
    assert api.patch(url, json={"name": "x"}, headers=headers).status_code == 409
    assert api.get(f"{url}/stats", headers=headers).json()["issued"] == 1


def test_authorization_matrix(api: TestClient, session: Session) -> None:
    template = make_template(session)
    customer = make_customer(session, make_cipher())
    shop = shop_headers(session, customer.id)
    guide = bearer(session, Role.GUIDE)
    analyst = bearer(session, Role.ANALYST)
    routes = [
        ("GET", "/api/v1/coupon-templates", None),
        ("POST", "/api/v1/coupon-templates", threshold_body()),
        ("GET", f"/api/v1/coupon-templates/{template.id}", None),
        ("POST", f"/api/v1/coupon-templates/{template.id}/pause", None),
        ("GET", f"/api/v1/coupon-templates/{template.id}/stats", None),
        ("POST", "/api/v1/coupons/send", {"template_id": template.id, "customer_id": customer.id}),
        ("POST", "/api/v1/coupons/write-off", {"code": "ABCDEFGH", "store_id": 1}),
    ]
    before = snapshot(session)
    for method, url, body in routes:
        assert api.request(method, url, json=body).status_code == 401, url
        assert api.request(method, url, json=body, headers=shop).status_code == 401, url
        assert api.request(method, url, json=body, headers=analyst).status_code == 403, url
    for method, url, body in routes[:5]:
        assert api.request(method, url, json=body, headers=guide).status_code == 403, url
    grant = api.post(
        f"/api/v1/coupon-templates/{template.id}/grants", content=f"{customer.id}\n", headers=guide
    )
    assert grant.status_code == 403
    assert snapshot(session) == before


def test_bulk_grant_reports_every_row(api: TestClient, session: Session) -> None:
    headers = bearer(session)
    template = make_template(session, total_quantity=3, per_customer_limit=1)
    first, second, third, fourth = (make_customer(session, make_cipher()) for _ in range(4))
    csv_text = "name,customer_id\n" + "\n".join(
        [
            f"a,{first.id}",
            f"b,{second.id}",
            f"c,{first.id}",
            "d,abc",
            "e,99999999",
            f"f,{third.id}",
            f"g,{fourth.id}",
        ]
    )
    response = api.post(
        f"/api/v1/coupon-templates/{template.id}/grants",
        content=csv_text.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["rows"], data["issued"], data["skipped"]) == (7, 3, 4)
    assert [
        (row["row"], row["status"], row["code"] if row["status"] == "skipped" else "ok")
        for row in data["results"]
    ] == [
        (2, "issued", "ok"),
        (3, "issued", "ok"),
        (4, "skipped", "coupon.limit_reached"),
        (5, "skipped", "grant.invalid_id"),
        (6, "skipped", "customer.not_found"),
        (7, "issued", "ok"),
        (8, "skipped", "coupon.exhausted"),
    ]
    coupons = session.scalars(select(Coupon).where(Coupon.template_id == template.id)).all()
    assert sorted(c.customer_id for c in coupons) == sorted([first.id, second.id, third.id])
    assert {c.source for c in coupons} == {"grant"}
    plain = api.post(f"/api/v1/coupon-templates/{template.id}/grants", content=b"", headers=headers)
    assert (plain.status_code, plain.json()["code"]) == (422, "coupon.grant_invalid")


def test_grant_is_capped(
    api: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from siyu.coupons import grants

    monkeypatch.setattr(grants, "MAX_ROWS", 3)
    template = make_template(session)
    before = snapshot(session)
    response = api.post(
        f"/api/v1/coupon-templates/{template.id}/grants",
        content=b"1\n2\n3\n4\n",
        headers=bearer(session),
    )
    assert (response.status_code, response.json()["code"]) == (413, "coupon.grant_too_large")
    assert snapshot(session) == before


def test_guides_send_only_to_their_own_customers(api: TestClient, session: Session) -> None:
    template = make_template(session)
    guide = make_staff(session, roles=[Role.GUIDE])
    headers = {"Authorization": f"Bearer {make_token(session, guide)}"}
    own = make_customer(session, make_cipher(), guide_id=guide.id)
    stranger = make_customer(session, make_cipher())
    before = snapshot(session)
    refused = api.post(
        "/api/v1/coupons/send",
        json={"template_id": template.id, "customer_id": stranger.id},
        headers=headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (404, "customer.not_found")
    assert snapshot(session) == before
    sent = api.post(
        "/api/v1/coupons/send",
        json={"template_id": template.id, "customer_id": own.id},
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["source"], sent.json()["customer_id"], sent.json()["issued_by"]) == (
        "guide",
        own.id,
        guide.username,
    )


def test_write_off_route(api: TestClient, session: Session) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, make_cipher())
    code = give(session, make_template(session), customer.id).code
    manager = make_staff(session, roles=[Role.STORE_MANAGER], store_id=shelf.store.id)
    headers = {"Authorization": f"Bearer {make_token(session, manager)}"}
    response = api.post(
        "/api/v1/coupons/write-off",
        json={"code": code, "store_id": shelf.store.id},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["coupon"]["status"], response.json()["kind"]) == ("used", "threshold")
    again = api.post(
        "/api/v1/coupons/write-off",
        json={"code": code, "store_id": shelf.store.id},
        headers=headers,
    )
    assert (again.status_code, again.json()["code"]) == (409, "coupon.already_used")
