"""The referral HTTP API: operator and storefront routes, their authorization matrix,
and refused input changing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.referral import accounts
from siyu.campaigns.referral.accounts import Deltas
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.models.referral import (
    LedgerKind,
    Promoter,
    PromoterLedger,
    ReferralBinding,
    ReferralWithdrawal,
)
from siyu.models.staff import Role
from tests.campaigns.referral.factories import make_programme, make_promoter
from tests.catalog.factories import bearer
from tests.coupons.factories import shop_headers
from tests.customers.factories import make_customer
from tests.factories import make_staff, make_token


def _programme_body() -> dict[str, Any]:
    now = clock.now()
    return {
        "campaign": {
            "name": "双十二分销",
            "lifecycle_stage": "refer",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=30)).isoformat(),
        },
        "settings": {"auto_approve": False, "bind_rule": "first", "bind_days": 7},
        "default_rule": {"level1_value": 800, "level2_value": 200},
        "publish": True,
    }


def _snapshot(session: Session) -> tuple[int, ...]:
    session.expire_all()
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Promoter, PromoterLedger, ReferralBinding, ReferralWithdrawal)
    )


def test_operator_creates_a_programme_and_reviews_promoters(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    headers = bearer(session)
    created = api.post("/api/v1/campaigns/referral", json=_programme_body(), headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["phase"], body["settings"]["bind_rule"], body["settings"]["bind_days"]) == (
        "live",
        "first",
        7,
    )
    assert [(r["scope"], r["level1_value"], r["level2_value"]) for r in body["rules"]] == [
        ("default", 800, 200)
    ]
    overlap = api.post("/api/v1/campaigns/referral", json=_programme_body(), headers=headers)
    assert (overlap.status_code, overlap.json()["code"]) == (409, "referral.programme_overlaps")

    customer = make_customer(session, cipher)
    shop = shop_headers(session, customer.id)
    applied = api.post("/api/shop/v1/campaigns/referral/apply", json={"note": "hi"}, headers=shop)
    assert (applied.status_code, applied.json()["status"]) == (201, "pending")
    public_id = applied.json()["public_id"]
    again = api.post("/api/shop/v1/campaigns/referral/apply", json={}, headers=shop)
    assert (again.status_code, again.json()["code"]) == (409, "referral.already_promoter")
    approved = api.post(
        f"/api/v1/campaigns/referral/promoters/{public_id}/approve", json={}, headers=headers
    )
    assert (approved.status_code, approved.json()["status"]) == (200, "active")
    centre = api.get("/api/shop/v1/campaigns/referral/centre", headers=shop).json()
    code = centre["promoter"]["code"]
    assert centre["share"] == {"code": code, "share_url": f"/shop?ref={code}"}

    rule = api.put(
        f"/api/v1/campaigns/referral/{body['campaign_id']}/rules",
        json={"scope": "default", "mode": "fixed", "level1_value": 500, "level2_value": 0},
        headers=headers,
    )
    assert (rule.status_code, rule.json()["mode"]) == (200, "fixed")
    bad_rule = api.put(
        f"/api/v1/campaigns/referral/{body['campaign_id']}/rules",
        json={"scope": "product", "level1_value": 9000, "level2_value": 2000, "target_id": 1},
        headers=headers,
    )
    assert (bad_rule.status_code, bad_rule.json()["code"]) == (422, "referral.invalid_rule")


def test_customer_binds_and_withdraws(api: TestClient, session: Session, cipher: PiiCipher) -> None:
    make_programme(session, min_withdrawal_amount=500)
    promoter = make_promoter(session, cipher)
    assert promoter.customer_id is not None
    visitor = make_customer(session, cipher)
    bound = api.post(
        "/api/shop/v1/campaigns/referral/bind",
        json={"code": promoter.code},
        headers=shop_headers(session, visitor.id),
    )
    assert bound.status_code == 200, bound.text
    assert (bound.status_code, bound.json()["promoter_code"]) == (200, promoter.code)
    own = shop_headers(session, promoter.customer_id)
    before = _snapshot(session)
    self_bind = api.post(
        "/api/shop/v1/campaigns/referral/bind", json={"code": promoter.code}, headers=own
    )
    assert (self_bind.status_code, self_bind.json()["code"]) == (422, "referral.self_referral")
    too_much = api.post(
        "/api/shop/v1/campaigns/referral/withdrawals", json={"amount": 1000}, headers=own
    )
    assert (too_much.status_code, too_much.json()["code"]) == (409, "referral.insufficient_balance")
    assert _snapshot(session) == before
    accounts.move(session, promoter.id, LedgerKind.COMMISSION, "t", Deltas(frozen=2000))
    accounts.move(
        session, promoter.id, LedgerKind.SETTLE, "t:s", Deltas(frozen=-2000, withdrawable=2000)
    )
    small = api.post(
        "/api/shop/v1/campaigns/referral/withdrawals", json={"amount": 400}, headers=own
    )
    assert (small.status_code, small.json()["code"]) == (422, "referral.invalid_withdrawal")
    made = api.post(
        "/api/shop/v1/campaigns/referral/withdrawals", json={"amount": 1500}, headers=own
    )
    assert (made.status_code, made.json()["status"]) == (201, "requested")
    mine = api.get("/api/shop/v1/campaigns/referral/withdrawals", headers=own).json()
    assert [(w["amount"], w["status"]) for w in mine["items"]] == [(1500, "requested")]
    payer = bearer(session, Role.ADMIN)
    url = f"/api/v1/campaigns/referral/withdrawals/{made.json()['public_id']}"
    assert api.post(f"{url}/approve", headers=payer).json()["status"] == "approved"
    paid = api.post(f"{url}/pay", json={"payout_reference": "T1"}, headers=payer)
    assert paid.json()["status"] == "paid"
    centre = api.get("/api/shop/v1/campaigns/referral/centre", headers=own).json()
    assert (
        centre["promoter"]["withdrawable_amount"],
        centre["promoter"]["withdrawn_amount"],
    ) == (500, 1500)


def test_guides_withdraw_through_me(api: TestClient, session: Session) -> None:
    make_programme(session)
    guide = make_staff(session, roles=[Role.GUIDE])
    headers = {"Authorization": f"Bearer {make_token(session, guide)}"}
    missing = api.get("/api/v1/campaigns/referral/me", headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (403, "referral.not_a_promoter")
    enrolled = api.post(
        "/api/v1/campaigns/referral/promoters/guides",
        json={"staff_id": guide.id},
        headers=bearer(session),
    )
    assert (enrolled.status_code, enrolled.json()["kind"]) == (201, "guide")
    me = api.get("/api/v1/campaigns/referral/me", headers=headers).json()
    assert (me["code"], me["withdrawable_amount"]) == (enrolled.json()["code"], 0)
    refused = api.post(
        "/api/v1/campaigns/referral/me/withdrawals", json={"amount": 100}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "referral.insufficient_balance")


def test_authorization_matrix(api: TestClient, session: Session, cipher: PiiCipher) -> None:
    campaign = make_programme(session)
    promoter = make_promoter(session, cipher)
    other = make_promoter(session, cipher)
    customer = make_customer(session, cipher)
    shop = shop_headers(session, customer.id)
    analyst = bearer(session, Role.ANALYST)
    operator = bearer(session, Role.OPERATOR)
    admin = bearer(session, Role.ADMIN)
    base = "/api/v1/campaigns/referral"
    manage = [
        ("GET", base, None),
        ("POST", base, _programme_body()),
        ("GET", f"{base}/{campaign.id}", None),
        ("PATCH", f"{base}/{campaign.id}/settings", {"bind_days": 9}),
        ("PUT", f"{base}/{campaign.id}/rules", {"level1_value": 1}),
        ("GET", f"{base}/promoters", None),
        ("POST", f"{base}/promoters/{promoter.public_id}/suspend", {}),
        ("GET", f"{base}/commissions", None),
        ("GET", f"{base}/withdrawals", None),
    ]
    payout = [
        ("POST", f"{base}/withdrawals/wd_x/approve", None),
        ("POST", f"{base}/withdrawals/wd_x/pay", {"payout_reference": "x"}),
        ("POST", f"{base}/withdrawals/wd_x/reject", {}),
        ("POST", f"{base}/withdrawals/wd_x/fail", {}),
    ]
    before = _snapshot(session)
    for method, url, body in manage + payout:
        assert api.request(method, url, json=body).status_code == 401, url
        assert api.request(method, url, json=body, headers=shop).status_code == 401, url
        assert api.request(method, url, json=body, headers=analyst).status_code == 403, url
    for method, url, body in payout:
        # Operators manage campaigns but do not pay money out.
        assert api.request(method, url, json=body, headers=operator).status_code == 403, url
        assert api.request(method, url, json=body, headers=admin).status_code == 404, url
    assert _snapshot(session) == before
    for method, url, body in manage[2:]:
        response = api.request(method, url, json=body, headers=operator)
        assert response.status_code == 200, (url, response.text)
    shop_routes = [
        ("GET", "/api/shop/v1/campaigns/referral/centre", None),
        ("POST", "/api/shop/v1/campaigns/referral/apply", {}),
        ("POST", "/api/shop/v1/campaigns/referral/bind", {"code": other.code}),
        ("GET", "/api/shop/v1/campaigns/referral/commissions", None),
        ("GET", "/api/shop/v1/campaigns/referral/withdrawals", None),
        ("POST", "/api/shop/v1/campaigns/referral/withdrawals", {"amount": 100}),
    ]
    for method, url, body in shop_routes:
        assert api.request(method, url, json=body).status_code == 401, url
        assert api.request(method, url, json=body, headers=admin).status_code == 401, url
    for method, url, body in shop_routes[:5]:
        response = api.request(method, url, json=body, headers=shop)
        assert response.status_code in (200, 201), (url, response.text)
