"""Console pages for coupons (server-rendered, signed in through the real form)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.staff import Role
from tests.coupons.factories import give, make_template, snapshot
from tests.customers.factories import make_cipher, make_customer
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.orders.factories import make_shelf
from tests.web.console_helpers import sign_in


def _operator(api: TestClient, session: Session) -> str:
    staff = make_staff(session, roles=[Role.OPERATOR])
    return sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_create_a_template_through_the_form_and_see_it_with_stats(
    api: TestClient, session: Session
) -> None:
    token = _operator(api, session)
    form = {
        "csrf_token": token,
        "name": "满200减30",
        "kind": "threshold",
        "threshold_yuan": "200",
        "discount_yuan": "30",
        "scope": "all",
        "channels": ["mall", "store"],
        "validity": "relative",
        "valid_days": "7",
        "total_quantity": "100",
        "in_coupon_centre": "on",
    }
    bad = api.post("/console/coupons", data={**form, "threshold_yuan": "20"})
    assert bad.status_code == 422
    assert 'data-field="threshold_yuan"' in bad.text
    assert session.scalars(select(CouponTemplate)).all() == []
    created = api.post("/console/coupons", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    template = session.scalars(select(CouponTemplate)).one()
    assert (template.threshold_amount, template.discount_amount, template.valid_days) == (
        20000,
        3000,
        7,
    )
    assert template.channels == ["mall", "store"]
    assert template.in_coupon_centre
    detail = api.get(created.headers["location"])
    assert "满 ¥200.00 减 ¥30.00" in detail.text
    activated = api.post(
        f"/console/coupons/{template.id}/status/activate",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert activated.status_code == 303
    customer = make_customer(session, make_cipher())
    grant = api.post(
        f"/console/coupons/{template.id}/grant",
        data={"csrf_token": token, "ids": f"{customer.id}\n999999999"},
    )
    assert grant.status_code == 200
    assert "共 2 行：发放 1 张，跳过 1 行。" in grant.text
    listing = api.get("/console/coupons")
    assert listing.status_code == 200
    assert 'data-stat="issued">1 / 100<' in listing.text
    table = api.get("/console/coupons/stats-table")
    assert 'data-stat="available">1<' in table.text


def test_edit_keeps_locked_fields_and_reports_the_refusal(
    api: TestClient, session: Session
) -> None:
    token = _operator(api, session)
    template = make_template(session)
    give(session, template, make_customer(session, make_cipher()).id)
    page = api.get(f"/console/coupons/{template.id}/edit")
    assert page.status_code == 200
    before = snapshot(session)
    refused = api.post(
        f"/console/coupons/{template.id}/edit",
        data={
            "csrf_token": token,
            "name": template.name,
            "kind": "threshold",
            "threshold_yuan": "300",
            "discount_yuan": "30",
            "scope": "all",
            "channels": ["mall", "store"],
            "validity": "fixed",
            "valid_until": "2026-12-31T23:59",
        },
    )
    assert refused.status_code == 409
    assert snapshot(session) == before


def test_write_off_page(api: TestClient, session: Session) -> None:
    shelf = make_shelf(session)
    guide = make_staff(session, roles=[Role.GUIDE], store_id=shelf.store.id)
    token = sign_in(api, guide.username, DEFAULT_PASSWORD)
    code = give(session, make_template(session), make_customer(session, make_cipher()).id).code
    assert api.get("/console/coupons").status_code == 403
    page = api.get("/console/coupons/write-off")
    assert page.status_code == 200
    assert shelf.store.name in page.text
    done = api.post(
        "/console/coupons/write-off",
        data={"csrf_token": token, "code": code, "store_id": str(shelf.store.id)},
    )
    assert done.status_code == 200
    assert f"已核销 {code}" in done.text
    coupon = session.scalars(select(Coupon).where(Coupon.code == code)).one()
    session.refresh(coupon)
    assert coupon.status == "used"
    again = api.post(
        "/console/coupons/write-off",
        data={"csrf_token": token, "code": code, "store_id": str(shelf.store.id)},
    )
    assert again.status_code == 409
    assert "这张券已经使用过了" in again.text
