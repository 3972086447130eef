"""/api/v1/campaigns/group-buy and /api/shop/v1/campaigns/group-buy: shapes, refusals
with stable codes, and who may call each endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.models.group_buy import GroupBuyGroup, GroupBuyMember
from siyu.models.order import Order
from siyu.models.staff import Role
from tests.campaigns.group_buy.factories import count, deliver, make_deal
from tests.catalog.factories import bearer, customer_headers
from tests.customers.factories import make_customer
from tests.orders.factories import ADDRESS, Shelf, pay

BASE = "/api/v1/campaigns/group-buy"
SHOP = "/api/shop/v1/campaigns/group-buy"


def _shopper(session: Session, cipher: PiiCipher, name: str | None = None) -> tuple[int, dict]:
    customer = make_customer(session, cipher, name=name)
    raw, _ = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
    return customer.id, {sessions.TOKEN_HEADER: raw}


def body_deal(sku_id: int, **deal: object) -> dict[str, object]:
    return {
        "sku_id": sku_id,
        "title": "两人团",
        "group_price": 9900,
        "leader_price": 8900,
        "group_size": 2,
        "stock_total": 10,
        **deal,
    }


def _create_body(sku_id: int, **deal: object) -> dict[str, object]:
    now = clock.now()
    return {
        "campaign": {
            "name": "周末拼团",
            "lifecycle_stage": "acquire",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
        "deals": [body_deal(sku_id, **deal)],
        "publish": True,
    }


def test_operator_creates_edits_and_watches(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    shelf: Shelf,
) -> None:
    headers = bearer(session)
    created = api.post(BASE, json=_create_body(shelf.skus[0].id), headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    campaign_id, deal = body["campaign"]["id"], body["deals"][0]
    assert (body["campaign"]["phase"], deal["stock_left"], deal["virtual_completion"]) == (
        "live",
        10,
        False,
    )
    assert body["counters"]["groups_opened"] == 0
    bad = api.post(BASE, json=_create_body(shelf.skus[0].id, leader_price=20000), headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "group_buy.invalid_deal")
    unknown_sku = api.post(BASE, json=_create_body(999_999), headers=headers)
    assert (unknown_sku.status_code, unknown_sku.json()["code"]) == (422, "group_buy.invalid_deal")
    locked = api.patch(
        f"{BASE}/{campaign_id}/deals/{deal['id']}", json={"group_size": 3}, headers=headers
    )
    assert (locked.status_code, locked.json()["code"]) == (409, "group_buy.deal_locked")
    added = api.post(
        f"{BASE}/{campaign_id}/deals",
        json={**body_deal(shelf.skus[0].id), "title": "五人团", "group_size": 5},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    assert (added.json()["group_size"], added.json()["campaign_id"]) == (5, campaign_id)
    grown = api.patch(
        f"{BASE}/{campaign_id}/deals/{deal['id']}", json={"stock_total": 12}, headers=headers
    )
    assert grown.json()["stock_left"] == 12

    leader_id, leader = _shopper(session, cipher, name="王小明")
    opened = api.post(
        f"{SHOP}/{deal['public_id']}/groups", json={"address": ADDRESS}, headers=leader
    )
    assert opened.status_code == 201, opened.text
    order = session.query(Order).filter_by(public_id=opened.json()["order_public_id"]).one()
    pay(session, settings, order)
    deliver(session)
    groups = api.get(f"{BASE}/{campaign_id}/groups", headers=headers).json()["items"]
    assert [(g["status"], g["paid_count"], g["members"][0]["name"]) for g in groups] == [
        ("open", 1, "王**")
    ]
    assert groups[0]["members"][0]["customer_id"] == leader_id
    one = api.get(f"{BASE}/groups/{groups[0]['public_id']}", headers=headers)
    assert one.json()["members"][0]["order_public_id"] == order.public_id
    detail = api.get(f"{BASE}/{campaign_id}", headers=headers).json()
    assert (detail["counters"]["groups_opened"], detail["counters"]["group_members"]) == (1, 1)
    listed = api.get(BASE, headers=headers).json()["items"]
    assert [(item["campaign"]["id"], len(item["deals"])) for item in listed] == [(campaign_id, 2)]


def test_shop_flow_and_refusals(
    api: TestClient, session: Session, cipher: PiiCipher, settings: Settings, shelf: Shelf
) -> None:
    _campaign, deal = make_deal(session, sku=shelf.skus[0], group_size=2, new_customers_only=True)
    _leader_id, leader = _shopper(session, cipher, name="李雷")
    page = api.get(f"{SHOP}/{deal.public_id}", headers=leader)
    assert page.status_code == 200, page.text
    assert (
        page.json()["group_price"],
        page.json()["leader_price"],
        page.json()["open_groups"],
    ) == (
        9900,
        8900,
        [],
    )
    opened = api.post(f"{SHOP}/{deal.public_id}/groups", json={"address": ADDRESS}, headers=leader)
    group_id = opened.json()["group"]["public_id"]
    assert opened.json()["group"]["status"] == "pending"
    _stranger_id, stranger = _shopper(session, cipher)
    hidden = api.get(f"{SHOP}/groups/{group_id}", headers=stranger)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "group_buy.group_not_found")
    pay(session, settings, session.query(Order).filter_by(customer_id=_leader_id).one())
    deliver(session)

    shared = api.get(f"{SHOP}/groups/{group_id}", headers=stranger).json()
    assert (shared["status"], shared["seats_left"], shared["is_mine"]) == ("open", 1, False)
    assert shared["members"] == [
        {"name": "李*", "initial": "李", "is_leader": True, "is_me": False, "paid": True}
    ]
    assert shared["share_path"] == f"/shop/campaigns/group-buy/{deal.public_id}?group={group_id}"

    before = (count(session, GroupBuyMember), count(session, Order))
    twice = api.post(f"{SHOP}/groups/{group_id}/join", json={"address": ADDRESS}, headers=leader)
    assert (twice.status_code, twice.json()["code"]) == (409, "group_buy.already_joined")
    no_address = api.post(f"{SHOP}/groups/{group_id}/join", json={}, headers=stranger)
    assert (no_address.status_code, no_address.json()["code"]) == (422, "order.invalid_checkout")
    assert (count(session, GroupBuyMember), count(session, Order)) == before

    joined = api.post(f"{SHOP}/groups/{group_id}/join", json={"address": ADDRESS}, headers=stranger)
    assert joined.status_code == 201, joined.text
    assert joined.json()["group"]["member_count"] == 2
    pay(
        session,
        settings,
        session.query(Order).filter_by(public_id=joined.json()["order_public_id"]).one(),
    )
    deliver(session)
    mine = api.get(f"{SHOP}/mine", headers=stranger).json()["items"]
    assert [(g["public_id"], g["status"], g["is_mine"]) for g in mine] == [
        (group_id, "filled", True)
    ]
    _late_id, late = _shopper(session, cipher)
    full = api.post(f"{SHOP}/groups/{group_id}/join", json={"address": ADDRESS}, headers=late)
    assert (full.status_code, full.json()["code"]) == (409, "group_buy.group_full")
    missing = api.get(f"{SHOP}/nope", headers=late)
    assert (missing.status_code, missing.json()["code"]) == (404, "group_buy.deal_not_found")
    assert count(session, GroupBuyGroup) == 1
    session.refresh(deal)
    assert deal.stock_left == 48


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", BASE),
        ("post", BASE),
        ("get", BASE + "/1"),
        ("post", BASE + "/1/deals"),
        ("patch", BASE + "/1/deals/1"),
        ("get", BASE + "/1/groups"),
        ("get", BASE + "/groups/gbg_x"),
    ],
)
def test_operator_authorization_matrix(
    api: TestClient, session: Session, cipher: PiiCipher, method: str, path: str
) -> None:
    anonymous = api.request(method, path, json={})
    assert anonymous.status_code == 401
    shopper = api.request(method, path, json={}, headers=customer_headers(session, cipher))
    assert shopper.status_code == 401
    guide = api.request(method, path, json={}, headers=bearer(session, Role.GUIDE))
    assert (guide.status_code, guide.json()["code"]) == (403, "auth.permission_denied")
    operator = api.request(method, path, json={}, headers=bearer(session, Role.OPERATOR))
    assert operator.status_code in (200, 404, 422)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", SHOP + "/mine"),
        ("get", SHOP + "/gbd_x"),
        ("post", SHOP + "/gbd_x/groups"),
        ("get", SHOP + "/groups/gbg_x"),
        ("post", SHOP + "/groups/gbg_x/join"),
    ],
)
def test_shop_authorization_matrix(
    api: TestClient, session: Session, cipher: PiiCipher, method: str, path: str
) -> None:
    anonymous = api.request(method, path, json={})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "customer.session_invalid")
    staff = api.request(method, path, json={}, headers=bearer(session, Role.ADMIN))
    assert staff.status_code == 401
    shopper = api.request(method, path, json={}, headers=customer_headers(session, cipher))
    assert shopper.status_code in (200, 404)
