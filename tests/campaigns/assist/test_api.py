"""/api/v1/campaigns/assist and /api/shop/v1/campaigns/assist: who may call, and the
storefront flow start → assist → unlock → 0-yuan claim over HTTP."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.models.bargain import AssistDeal
from siyu.models.campaign import Campaign
from siyu.models.customer import Customer
from siyu.models.staff import Role
from tests.campaigns.assist.factories import make_assist_deal
from tests.campaigns.bargain.factories import make_helper
from tests.catalog.factories import bearer
from tests.members.mall_factories import make_template
from tests.orders.factories import ADDRESS, make_shelf

API = "/api/v1/campaigns/assist"
SHOP = "/api/shop/v1/campaigns/assist"


def _shopper(session: Session, customer: Customer) -> dict[str, str]:
    raw, _record = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def _body(session: Session) -> dict[str, object]:
    gift = make_shelf(session, prices=(5900,), warehouse_stock=20, store_stock=0).skus[0]
    template = make_template(session, name="好友券")
    starts = clock.now() - timedelta(hours=1)
    return {
        "campaign": {
            "name": "会员日 0 元领",
            "lifecycle_stage": "refer",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(days=3)).isoformat(),
        },
        "required_assists": 3,
        "reward_kind": "gift",
        "gift_sku_id": gift.id,
        "reward_stock": 10,
        "helper_coupon_template_id": template.id,
        "publish": True,
    }


def test_operator_routes_need_campaigns_manage(
    api: TestClient, session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    body = _body(session)
    shopper = _shopper(session, make_helper(session, cipher))
    assert api.post(API, json=body).status_code == 401
    assert api.post(API, json=body, headers=shopper).status_code == 401
    refused = api.post(API, json=body, headers=bearer(session, Role.ANALYST))
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.permission_denied")
    assert session.scalar(select(func.count(Campaign.id))) == 0
    created = api.post(API, json=body, headers=bearer(session, Role.OPERATOR))
    assert created.status_code == 201, created.text
    assert created.json()["deal"]["reward_stock_left"] == 10
    campaign_id = created.json()["campaign"]["id"]
    for path in (API, f"{API}/{campaign_id}", f"{API}/{campaign_id}/assists"):
        assert api.get(path).status_code == 401
        assert api.get(path, headers=shopper).status_code == 401
        assert api.get(path, headers=bearer(session, Role.ANALYST)).status_code == 403
        assert api.get(path, headers=bearer(session, Role.OPERATOR)).status_code == 200


def test_invalid_rewards_are_refused(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.OPERATOR)
    body = _body(session)
    both = api.post(API, json={**body, "reward_coupon_template_id": 1}, headers=headers)
    assert (both.status_code, both.json()["code"]) == (422, "assist.invalid")
    coupon_without = api.post(API, json={**body, "reward_kind": "coupon"}, headers=headers)
    assert (coupon_without.status_code, coupon_without.json()["code"]) == (422, "assist.invalid")
    no_gift = api.post(API, json={**body, "gift_sku_id": 999999}, headers=headers)
    assert (no_gift.status_code, no_gift.json()["code"]) == (422, "assist.invalid")
    assert session.scalar(select(func.count(AssistDeal.id))) == 0
    assert session.scalar(select(func.count(Campaign.id))) == 0


def test_storefront_flow_over_http(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
) -> None:
    made = make_assist_deal(session, required_assists=2)
    public = made.campaign.public_id
    me = _shopper(session, make_helper(session, cipher, name="韩梅梅"))
    deal = api.get(f"{SHOP}/{public}").json()
    assert (deal["required_assists"], deal["reward_kind"], deal["rewards_left"]) == (2, "gift", 5)
    assert deal["reward_name"] == "丝绒口红"
    assert api.post(f"{SHOP}/{public}/assists").status_code == 401
    started = api.post(f"{SHOP}/{public}/assists", headers=me)
    assert started.status_code == 201, started.text
    assist_id = started.json()["public_id"]
    helps = f"{SHOP}/assists/{assist_id}/helps"
    anonymous = _shopper(session, make_helper(session, cipher, identified=False))
    refused = api.post(helps, headers=anonymous)
    assert (refused.status_code, refused.json()["code"]) == (403, "helper.not_identified")
    claim = f"{SHOP}/assists/{assist_id}/claim"
    early = api.post(claim, json={"address": ADDRESS}, headers=me)
    assert (early.status_code, early.json()["code"]) == (409, "assist.not_unlocked")
    for name in ("李雷", "王芳"):
        friend = _shopper(session, make_helper(session, cipher, name=name))
        assert api.post(helps, headers=friend).status_code == 201
    view = api.get(f"{SHOP}/assists/{assist_id}", headers=me).json()
    assert (view["assist_count"], view["status"]) == (2, "unlocked")
    assert [helper["name"] for helper in view["helpers"]] == ["李*", "王*"]
    claimed = api.post(claim, json={"address": ADDRESS}, headers=me)
    assert claimed.status_code == 201, claimed.text
    assert (claimed.json()["total_amount"], claimed.json()["order_status"]) == (0, "paid")
    assert claimed.json()["assist"]["order_public_id"] == claimed.json()["order_public_id"]
    again = api.post(claim, json={"address": ADDRESS}, headers=me)
    assert (again.status_code, again.json()["code"]) == (409, "assist.already_claimed")
    figures = api.get(f"{API}/{made.campaign.id}", headers=bearer(session)).json()
    assert figures["campaign"]["counters"] == {
        "assists_started": 1,
        "assists_unlocked": 1,
        "assist_rewards_claimed": 1,
        "assist_helps": 2,
        "helper_benefits": 2,
        "assist_rewards_left": 4,
    }
