"""Lottery HTTP APIs: operators (campaigns.manage) and the storefront, with their
authorization matrices; refusals change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.lottery import draws
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.customers import sessions
from siyu.models.campaign import Campaign
from siyu.models.lottery import Lottery, LotteryPrize
from siyu.models.order import Order
from siyu.models.staff import AuditLog, Role
from tests.campaigns.lottery.factories import counts, coupon_prize, make_lottery
from tests.catalog.factories import bearer
from tests.members.mall_factories import make_member, make_template
from tests.orders.factories import ADDRESS, make_shelf

pytestmark = pytest.mark.usefixtures("frozen_clock", "settings")

API = "/api/v1/campaigns/lottery"
SHOP = "/api/shop/v1/campaigns/lottery"


def _shopper(session: Session, customer_id: int) -> dict[str, str]:
    raw, _record = sessions.create_session(session, customer_id=customer_id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def _body(template_id: int, **changes: Any) -> dict[str, Any]:
    now = clock.now()
    body: dict[str, Any] = {
        "campaign": {
            "name": "会员日大转盘",
            "lifecycle_stage": "retain",
            "starts_at": (now + timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
        },
        "chances_per_day": 2,
        "prizes": [
            coupon_prize(template_id, probability=2000, stock=10),
            {
                "name": "20 积分",
                "kind": "points",
                "probability": 3000,
                "stock": 50,
                "points_amount": 20,
            },
        ],
    }
    body.update(changes)
    return body


def test_operator_routes_need_campaigns_manage(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    template = make_template(session)
    member = make_member(session, cipher)
    body = _body(template.id)
    assert api.post(API, json=body).status_code == 401
    assert api.post(API, json=body, headers=_shopper(session, member.id)).status_code == 401
    refused = api.post(API, json=body, headers=bearer(session, Role.ANALYST))
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.permission_denied")
    assert api.get(API, headers=bearer(session, Role.ANALYST)).status_code == 403
    assert session.scalar(select(Lottery.id)) is None
    created = api.post(API, json=body, headers=bearer(session, Role.OPERATOR))
    assert created.status_code == 201
    out = created.json()
    assert (out["campaign"]["phase"], out["thanks_probability"], out["prize_table_version"]) == (
        "draft",
        5000,
        1,
    )
    assert [(p["kind"], p["stock_left"], p["value_amount"]) for p in out["prizes"]] == [
        ("coupon", 10, 1000),
        ("points", 50, 20),
    ]
    public_id = out["campaign"]["public_id"]
    for path in (f"{API}/{public_id}", f"{API}/{public_id}/draws"):
        assert api.get(path).status_code == 401
        assert api.get(path, headers=bearer(session, Role.ANALYST)).status_code == 403
        assert api.get(path, headers=bearer(session, Role.OPERATOR)).status_code == 200


def test_invalid_tables_are_refused_and_create_nothing(api: TestClient, session: Session) -> None:
    template = make_template(session)
    headers = bearer(session, Role.OPERATOR)
    over = _body(template.id)
    over["prizes"][1]["probability"] = 8001
    cases = [
        over,
        _body(template.id, prizes=[coupon_prize(999_999, probability=10, stock=1)]),
        _body(template.id, prizes=[coupon_prize(template.id, probability=10, stock=0)]),
        _body(template.id, prizes=[{"name": "x", "kind": "points", "probability": 10, "stock": 1}]),
        _body(
            template.id, prizes=[{"name": "谢谢", "kind": "thanks", "probability": 10, "stock": 3}]
        ),
    ]
    for body in cases:
        refused = api.post(API, json=body, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (422, "lottery.invalid")
    assert session.scalar(select(Campaign.id)) is None
    assert session.scalar(select(LotteryPrize.id)) is None


def test_edit_before_start_then_locked_table_and_restock(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    template = make_template(session)
    headers = bearer(session, Role.OPERATOR)
    out = api.post(API, json=_body(template.id, publish=True), headers=headers).json()
    public_id, old_hash = out["campaign"]["public_id"], out["prize_table_hash"]
    edited = api.patch(
        f"{API}/{public_id}",
        json={"points_cost": 10, "prizes": [coupon_prize(template.id, probability=100, stock=3)]},
        headers=headers,
    ).json()
    assert (edited["points_cost"], edited["prize_table_version"]) == (10, 2)
    assert edited["prize_table_hash"] != old_hash
    assert [p["probability"] for p in edited["prizes"]] == [100]
    frozen_clock.advance(timedelta(days=1, hours=1))
    locked = api.patch(
        f"{API}/{public_id}",
        json={"prizes": [coupon_prize(template.id, probability=9000, stock=3)]},
        headers=headers,
    )
    assert (locked.status_code, locked.json()["code"]) == (409, "lottery.prize_table_locked")
    prize_id = edited["prizes"][0]["id"]
    restocked = api.post(
        f"{API}/{public_id}/prizes/{prize_id}/restock", json={"quantity": 4}, headers=headers
    ).json()
    assert (restocked["stock_total"], restocked["stock_left"]) == (7, 7)
    missing = api.post(
        f"{API}/{public_id}/prizes/999999/restock", json={"quantity": 1}, headers=headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "lottery.prize_not_found")
    assert api.get(f"{API}/cmp_nope", headers=headers).status_code == 404
    actions = [
        action
        for action in session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        if action.startswith("lottery.")
    ]
    assert actions == ["lottery.created", "lottery.updated", "lottery.restocked"]


def test_shop_routes_need_a_customer(api: TestClient, session: Session, cipher: PiiCipher) -> None:
    template = make_template(session)
    campaign, _lottery = make_lottery(
        session, prizes=[coupon_prize(template.id, probability=10000, stock=2)]
    )
    staff = bearer(session, Role.OPERATOR)
    for method, path in (
        ("get", f"{SHOP}/{campaign.public_id}"),
        ("post", f"{SHOP}/{campaign.public_id}/draws"),
        ("get", f"{SHOP}/{campaign.public_id}/draws"),
        ("get", f"{SHOP}/prizes"),
    ):
        assert getattr(api, method)(path).status_code == 401
        assert getattr(api, method)(path, headers=staff).status_code == 401
    assert counts(session) == (0, 0, [2])


def test_shop_draw_my_prizes_and_claim(
    api: TestClient, session: Session, cipher: PiiCipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=5, store_stock=0)
    campaign, _lottery = make_lottery(
        session,
        prizes=[
            {
                "name": "口红",
                "kind": "goods",
                "probability": 5000,
                "stock": 1,
                "sku_id": shelf.skus[0].id,
            }
        ],
        chances_per_day=2,
    )
    member = make_member(session, cipher)
    headers = _shopper(session, member.id)
    view = api.get(f"{SHOP}/{campaign.public_id}", headers=headers).json()
    assert [slot["kind"] for slot in view["slots"]] == ["goods", "thanks"]
    assert (view["chances_left"], view["phase"]) == (2, "live")
    monkeypatch.setattr(draws, "random_value", iter([10, 7000]).__next__)
    won = api.post(f"{SHOP}/{campaign.public_id}/draws", headers=headers)
    assert won.status_code == 201
    assert (won.json()["outcome"], won.json()["slot"], won.json()["chances_left"]) == ("won", 0, 1)
    thanks = api.post(f"{SHOP}/{campaign.public_id}/draws", headers=headers).json()
    assert (thanks["outcome"], thanks["slot"], thanks["chances_left"]) == ("thanks", 1, 0)
    refused = api.post(f"{SHOP}/{campaign.public_id}/draws", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "lottery.no_chances_left")
    mine = api.get(f"{SHOP}/{campaign.public_id}/draws", headers=headers).json()["items"]
    assert [row["outcome"] for row in mine] == ["thanks", "won"]
    prizes = api.get(f"{SHOP}/prizes", headers=headers).json()["items"]
    assert [(row["prize_name"], row["claim_status"]) for row in prizes] == [("口红", "pending")]
    draw_id = prizes[0]["public_id"]
    stranger = _shopper(session, make_member(session, cipher).id)
    hidden = api.post(f"{SHOP}/prizes/{draw_id}/claim", json={"address": ADDRESS}, headers=stranger)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "lottery.draw_not_found")
    bad = api.post(
        f"{SHOP}/prizes/{draw_id}/claim", json={"address": {"recipient": "x"}}, headers=headers
    )
    assert bad.status_code == 422
    assert session.scalar(select(Order.id)) is None
    claimed = api.post(f"{SHOP}/prizes/{draw_id}/claim", json={"address": ADDRESS}, headers=headers)
    assert claimed.status_code == 200
    assert claimed.json()["claim_status"] == "claimed"
    order = session.scalars(
        select(Order).where(Order.public_id == claimed.json()["order_public_id"])
    ).one()
    assert (order.total_amount, order.status, order.campaign_id) == (0, "paid", campaign.id)
    again = api.post(f"{SHOP}/prizes/{draw_id}/claim", json={"address": ADDRESS}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "lottery.not_claimable")
    assert api.get(f"{SHOP}/cmp_nope", headers=headers).status_code == 404
