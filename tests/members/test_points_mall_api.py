"""Points-mall and benefits HTTP APIs: operators (members.manage) and the storefront."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.members import benefits
from siyu.models.job import Job
from siyu.models.member import PointsMallItem, PointsMallItemKind
from siyu.models.staff import AuditLog, Role
from tests.catalog.factories import bearer
from tests.members.mall_factories import (
    available_points,
    cipher,
    make_item,
    make_member,
    make_template,
    set_program,
    settings,
)
from tests.orders.factories import ADDRESS, make_shelf

__all__ = ["cipher", "settings"]

ITEMS = "/api/v1/points-mall/items"
SHOP = "/api/shop/v1/points-mall"


def _shopper(session: Session, customer_id: int) -> dict[str, str]:
    raw, _record = sessions.create_session(session, customer_id=customer_id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def _audits(session: Session) -> list[str]:
    rows = session.scalars(select(AuditLog.action).order_by(AuditLog.id))
    return [action for action in rows if action.startswith(("points_mall.", "members.benefits"))]


def test_item_routes_need_members_manage(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    template = make_template(session)
    body = {
        "kind": "coupon",
        "name": "10 元券",
        "coupon_template_id": template.id,
        "points_price": 100,
        "stock_total": 5,
    }
    member = make_member(session, cipher)
    assert api.post(ITEMS, json=body).status_code == 401
    assert api.post(ITEMS, json=body, headers=_shopper(session, member.id)).status_code == 401
    refused = api.post(ITEMS, json=body, headers=bearer(session, Role.ANALYST))
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.permission_denied")
    assert session.scalar(select(PointsMallItem.id)) is None
    created = api.post(ITEMS, json=body, headers=bearer(session, Role.OPERATOR))
    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    assert created.json()["stock_left"] == 5


def test_operator_item_lifecycle(api: TestClient, session: Session, cipher: PiiCipher) -> None:
    headers = bearer(session, Role.OPERATOR)
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=10, store_stock=0)
    unsellable = shelf.skus[0]
    unsellable.channels = ["store"]
    session.flush()
    refused = api.post(
        ITEMS,
        json={
            "kind": "goods",
            "name": "口红",
            "sku_id": unsellable.id,
            "points_price": 100,
            "stock_total": 5,
        },
        headers=headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "points_mall.invalid_item")
    assert session.scalar(select(PointsMallItem.id)) is None
    unsellable.channels = ["mall", "store"]
    session.flush()
    item = api.post(
        ITEMS,
        json={
            "kind": "goods",
            "name": "口红",
            "sku_id": unsellable.id,
            "points_price": 800,
            "cash_price": 990,
            "stock_total": 5,
            "per_member_limit": 1,
        },
        headers=headers,
    ).json()
    item_id = item["id"]
    assert api.post(f"{ITEMS}/{item_id}/activate", headers=headers).json()["status"] == "active"
    restocked = api.post(f"{ITEMS}/{item_id}/restock", json={"quantity": 3}, headers=headers).json()
    assert (restocked["stock_total"], restocked["stock_left"]) == (8, 8)
    patched = api.patch(
        f"{ITEMS}/{item_id}", json={"points_price": 900, "sort": 5}, headers=headers
    ).json()
    assert (patched["points_price"], patched["sort"]) == (900, 5)
    assert api.post(f"{ITEMS}/{item_id}/off", headers=headers).json()["status"] == "off"
    listed = api.get(ITEMS, params={"status": "off"}, headers=headers).json()["items"]
    assert [row["id"] for row in listed] == [item_id]
    assert api.get(f"{ITEMS}/999999", headers=headers).status_code == 404
    assert _audits(session) == [
        "points_mall.item.create",
        "points_mall.item.activate",
        "points_mall.item.restock",
        "points_mall.item.update",
        "points_mall.item.off",
    ]


def test_shop_lists_exchanges_a_coupon_and_a_goods_item(
    api: TestClient, session: Session, cipher: PiiCipher, settings: Settings
) -> None:
    template = make_template(session)
    coupon_item = make_item(
        session,
        coupon_template_id=template.id,
        points_price=200,
        per_member_limit=2,
        name="10 元券",
    )
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=10, store_stock=0)
    goods_item = make_item(
        session,
        kind=PointsMallItemKind.GOODS,
        sku_id=shelf.skus[0].id,
        points_price=300,
        name="口红",
    )
    make_item(session, coupon_template_id=template.id, status="draft", name="草稿")
    member = make_member(session, cipher, points_balance=600)
    headers = _shopper(session, member.id)

    listed = api.get(f"{SHOP}/items", headers=headers).json()
    assert listed["points_balance"] == 600
    assert [(row["name"], row["remaining_limit"]) for row in listed["items"]] == [
        ("10 元券", 2),
        ("口红", None),
    ]

    done = api.post(f"{SHOP}/exchanges", json={"item_id": coupon_item.public_id}, headers=headers)
    assert done.status_code == 201
    assert (done.json()["status"], done.json()["points"], done.json()["kind"]) == (
        "completed",
        200,
        "coupon",
    )
    assert done.json()["coupon_code"]

    goods = api.post(
        f"{SHOP}/exchanges",
        json={"item_id": goods_item.public_id, "address": ADDRESS},
        headers=headers,
    )
    assert goods.status_code == 201
    assert goods.json()["status"] == "completed"
    order_id = goods.json()["order_public_id"]
    order = api.get(f"/api/shop/v1/orders/{order_id}", headers=headers).json()
    assert (order["status"], order["total_amount"]) == ("paid", 0)
    assert available_points(session, member.id) == 100

    refused = api.post(
        f"{SHOP}/exchanges", json={"item_id": coupon_item.public_id}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "points.insufficient")
    assert available_points(session, member.id) == 100
    mine = api.get(f"{SHOP}/exchanges", headers=headers).json()["items"]
    assert [row["item_name"] for row in mine] == ["口红", "10 元券"]
    listed = api.get(f"{SHOP}/items", headers=headers).json()
    assert listed["items"][0]["remaining_limit"] == 1
    assert api.get(f"{SHOP}/items").status_code == 401


def test_benefit_grants_and_run_now(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
) -> None:
    set_program(session, birthday={"enabled": True, "points": 20})
    frozen_clock.set(datetime(2026, 4, 1, 3, 0, tzinfo=UTC))
    member = make_member(session, cipher, birthday=date(1999, 4, 1))
    benefits.run_all(session)
    headers = bearer(session, Role.OPERATOR)
    grants = api.get(
        "/api/v1/members/benefits/grants", params={"kind": "birthday"}, headers=headers
    ).json()
    assert [(g["customer_id"], g["period"], g["detail"]["points"]) for g in grants["items"]] == [
        (member.id, "2026", 20)
    ]
    assert api.get(
        "/api/v1/members/benefits/grants", params={"kind": "member_day"}, headers=headers
    ).json() == {"items": []}
    assert (
        api.post("/api/v1/members/benefits/run", headers=bearer(session, Role.ANALYST)).status_code
        == 403
    )
    assert api.post("/api/v1/members/benefits/run").status_code == 401
    queued = api.post("/api/v1/members/benefits/run", headers=headers)
    assert queued.status_code == 202
    job = session.get(Job, queued.json()["job_id"])
    assert job is not None
    assert (job.task, job.payload["reschedule"]) == ("members.daily_benefits", False)
    assert _audits(session) == ["members.benefits.run"]


def test_storefront_page_shell_carries_its_messages(api: TestClient) -> None:
    page = api.get("/shop/points-mall")
    assert page.status_code == 200
    assert "/static/shop/points_mall.js" in page.text
    assert "shop.points_mall.exchanged" in page.text
    english = api.get("/shop/points-mall", params={"lang": "en"})
    assert "Points mall" in english.text
