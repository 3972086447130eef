"""Storefront: coupon centre, claims, share links, my coupons, checkout with a coupon."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models.coupon import Coupon, CouponKind, CouponStatus, TemplateStatus
from tests.coupons.factories import give, make_template, shop_headers, snapshot
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import ADDRESS, make_shelf


def test_centre_states_and_claims(api: TestClient, session: Session) -> None:
    customer = make_customer(session, make_cipher())
    headers = shop_headers(session, customer.id)
    once = make_template(session, per_customer_limit=1)
    twice = make_template(session, per_customer_limit=2)
    gone = make_template(session, total_quantity=1)
    give(session, gone, make_customer(session, make_cipher()).id)
    make_template(session, in_coupon_centre=False)
    make_template(session, status=TemplateStatus.PAUSED)

    def states() -> dict[str, str]:
        items = api.get("/api/shop/v1/coupons/centre", headers=headers).json()["items"]
        return {item["public_id"]: item["state"] for item in items}

    assert states() == {
        once.public_id: "claimable",
        twice.public_id: "claimable",
        gone.public_id: "sold_out",
    }
    anonymous = api.get("/api/shop/v1/coupons/centre").json()["items"]
    assert len(anonymous) == 3
    for template in (once, twice):
        response = api.post(
            "/api/shop/v1/coupons/claim", json={"template_id": template.public_id}, headers=headers
        )
        assert response.status_code == 201, response.text
    assert states() == {
        once.public_id: "limit_reached",
        twice.public_id: "claimed",
        gone.public_id: "sold_out",
    }
    before = snapshot(session)
    again = api.post(
        "/api/shop/v1/coupons/claim", json={"template_id": once.public_id}, headers=headers
    )
    assert (again.status_code, again.json()["code"]) == (409, "coupon.limit_reached")
    sold_out = api.post(
        "/api/shop/v1/coupons/claim", json={"template_id": gone.public_id}, headers=headers
    )
    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "coupon.exhausted")
    assert (
        api.post("/api/shop/v1/coupons/claim", json={"template_id": once.public_id}).status_code
        == 401
    )
    assert snapshot(session) == before
    mine = api.get("/api/shop/v1/coupons/mine", headers=headers).json()["items"]
    assert sorted(item["template_public_id"] for item in mine) == sorted(
        [once.public_id, twice.public_id]
    )
    assert api.get("/api/shop/v1/coupons/mine?status=used", headers=headers).json()["items"] == []
    assert api.get("/api/shop/v1/coupons/mine?status=bogus", headers=headers).status_code == 422


def test_share_link_info_and_claim(api: TestClient, session: Session) -> None:
    customer = make_customer(session, make_cipher())
    headers = shop_headers(session, customer.id)
    hidden = make_template(session, in_coupon_centre=False, per_customer_limit=1)
    draft = make_template(session, status=TemplateStatus.DRAFT)
    info = api.get(f"/api/shop/v1/coupon-links/{hidden.public_id}")
    assert (info.status_code, info.json()["state"]) == (200, "claimable")
    assert api.get(f"/api/shop/v1/coupon-links/{draft.public_id}").status_code == 404
    claimed = api.post(f"/api/shop/v1/coupon-links/{hidden.public_id}", headers=headers)
    assert claimed.status_code == 201, claimed.text
    code = claimed.json()["coupon"]["code"]
    coupon = session.scalars(select(Coupon).where(Coupon.code == code)).one()
    assert (coupon.source, coupon.customer_id) == ("link", customer.id)
    assert (
        api.get(f"/api/shop/v1/coupon-links/{hidden.public_id}", headers=headers).json()["state"]
        == "limit_reached"
    )


def test_checkout_preview_suggests_and_the_order_uses_the_chosen_coupon(
    api: TestClient, session: Session
) -> None:
    shelf = make_shelf(session)
    customer = make_customer(session, make_cipher())
    headers = shop_headers(session, customer.id)
    best = give(
        session, make_template(session, threshold_amount=20000, discount_amount=3000), customer.id
    )
    other = give(
        session,
        make_template(
            session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=500
        ),
        customer.id,
    )
    body = {"items": [{"sku_id": shelf.skus[0].id, "quantity": 2}], "address": ADDRESS}
    preview = api.post("/api/shop/v1/checkout/preview", json=body, headers=headers)
    assert preview.status_code == 200, preview.text
    details = preview.json()["details"]["coupon"]
    assert details["suggested"]["code"] == best.code
    assert details["applied"] is None
    chosen = api.post(
        "/api/shop/v1/checkout/preview", json={**body, "coupon_code": other.code}, headers=headers
    )
    assert chosen.json()["total_amount"] == 25800 - 500
    stranger = shop_headers(session, make_customer(session, make_cipher()).id)
    foreign = api.post(
        "/api/shop/v1/checkout/preview", json={**body, "coupon_code": best.code}, headers=stranger
    )
    assert (foreign.status_code, foreign.json()["code"]) == (404, "coupon.not_found")
    order = api.post(
        "/api/shop/v1/orders", json={**body, "coupon_code": best.code}, headers=headers
    )
    assert order.status_code == 201, order.text
    assert (order.json()["discount_amount"], order.json()["total_amount"]) == (3000, 22800)
    session.expire_all()
    used = session.scalars(select(Coupon).where(Coupon.code == best.code)).one()
    assert used.status == CouponStatus.USED


def test_signed_out_buyers_can_read_but_not_claim(api: TestClient, session: Session) -> None:
    template = make_template(session)
    before = snapshot(session)
    assert api.get("/api/shop/v1/coupons/mine").status_code == 401
    assert api.post(f"/api/shop/v1/coupon-links/{template.public_id}").status_code == 401
    assert api.get(f"/api/shop/v1/coupon-links/{template.public_id}").json()["state"] == (
        "claimable"
    )
    assert api.get("/api/shop/v1/coupon-links/cpt_nosuch").status_code == 404
    assert snapshot(session) == before
    for path, script in [
        ("/shop/coupons", "coupon_centre.js"),
        ("/shop/coupons/mine", "coupon_mine.js"),
        (f"/shop/coupons/link/{template.public_id}", "coupon_link.js"),
    ]:
        page = api.get(path)
        assert page.status_code == 200
        assert f'src="/static/shop/{script}"' in page.text
