"""/api/v1/campaigns/bargain and /api/shop/v1/campaigns/bargain: who may call, and
the storefront flow start → help → buy over HTTP."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.bargain import bargains, cuts
from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.models.bargain import BargainDeal
from siyu.models.campaign import Campaign
from siyu.models.customer import Customer
from siyu.models.staff import Role
from tests.campaigns.bargain.factories import make_deal, make_helper, snapshot
from tests.catalog.factories import bearer
from tests.members.mall_factories import make_template
from tests.orders.factories import ADDRESS, make_shelf

API = "/api/v1/campaigns/bargain"
SHOP = "/api/shop/v1/campaigns/bargain"


def _shopper(session: Session, customer: Customer) -> dict[str, str]:
    raw, _record = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def _create_body(session: Session) -> dict[str, object]:
    shelf = make_shelf(session, prices=(12900,), warehouse_stock=50, store_stock=0)
    template = make_template(session, name="助力券")
    starts = clock.now() - timedelta(hours=1)
    return {
        "campaign": {
            "name": "冬季砍价",
            "lifecycle_stage": "acquire",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(days=7)).isoformat(),
        },
        "sku_id": shelf.skus[0].id,
        "floor_price": 4900,
        "expected_helpers": 6,
        "daily_help_limit": 2,
        "time_limit_minutes": 1440,
        "helper_coupon_template_id": template.id,
        "stock": 20,
        "publish": True,
    }


def test_operator_routes_need_campaigns_manage(
    api: TestClient, session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    body = _create_body(session)
    shopper = _shopper(session, make_helper(session, cipher))
    assert api.post(API, json=body).status_code == 401
    assert api.post(API, json=body, headers=shopper).status_code == 401
    refused = api.post(API, json=body, headers=bearer(session, Role.ANALYST))
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.permission_denied")
    assert session.scalar(select(func.count(Campaign.id))) == 0
    created = api.post(API, json=body, headers=bearer(session, Role.OPERATOR))
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["deal"]["start_price"], out["deal"]["stock_left"]) == (12900, 20)
    assert (out["campaign"]["kind"], out["campaign"]["phase"]) == ("bargain", "live")
    campaign_id = out["campaign"]["id"]
    for path in (API, f"{API}/{campaign_id}", f"{API}/{campaign_id}/bargains"):
        assert api.get(path).status_code == 401
        assert api.get(path, headers=shopper).status_code == 401
        assert api.get(path, headers=bearer(session, Role.ANALYST)).status_code == 403
        assert api.get(path, headers=bearer(session, Role.OPERATOR)).status_code == 200
    listed = api.get(API, headers=bearer(session)).json()["items"]
    assert [item["campaign"]["id"] for item in listed] == [campaign_id]
    assert listed[0]["campaign"]["counters"] == {
        "bargains_started": 0,
        "bargains_completed": 0,
        "bargains_purchased": 0,
        "bargain_helps": 0,
        "helper_benefits": 0,
        "bargain_stock_left": 20,
    }


def test_invalid_deals_are_refused_with_nothing_created(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.OPERATOR)
    body = _create_body(session)
    too_high = api.post(API, json={**body, "floor_price": 12900 - 5}, headers=headers)
    assert (too_high.status_code, too_high.json()["code"]) == (422, "bargain.invalid")
    assert too_high.json()["data"]["field"] == "floor_price"
    no_template = api.post(API, json={**body, "helper_coupon_template_id": 999999}, headers=headers)
    assert (no_template.status_code, no_template.json()["code"]) == (422, "bargain.invalid")
    no_sku = api.post(API, json={**body, "sku_id": 999999}, headers=headers)
    assert (no_sku.status_code, no_sku.json()["code"]) == (422, "bargain.invalid")
    bad_dates = {**body, "campaign": {**body["campaign"], "ends_at": body["campaign"]["starts_at"]}}  # type: ignore[dict-item]
    refused = api.post(API, json=bad_dates, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "campaign.invalid")
    assert session.scalar(select(func.count(Campaign.id))) == 0
    assert session.scalar(select(func.count(BargainDeal.id))) == 0


def test_storefront_flow_over_http(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
) -> None:
    made = make_deal(session, expected_helpers=3, stock=5)
    public = made.campaign.public_id
    initiator = make_helper(session, cipher, name="韩梅梅")
    me = _shopper(session, initiator)
    deal = api.get(f"{SHOP}/{public}").json()
    assert (deal["start_price"], deal["floor_price"], deal["my_bargain"]) == (12900, 2900, None)
    assert api.post(f"{SHOP}/{public}/bargains").status_code == 401
    started = api.post(f"{SHOP}/{public}/bargains", headers=me)
    assert started.status_code == 201, started.text
    bargain_id = started.json()["public_id"]
    assert started.json()["share_path"] == f"/shop/campaigns/bargain/{public}?bargain={bargain_id}"
    assert api.get(f"{SHOP}/{public}", headers=me).json()["my_bargain"] == bargain_id
    again = api.post(f"{SHOP}/{public}/bargains", headers=me)
    assert (again.status_code, again.json()["code"]) == (409, "bargain.already_started")
    # Helping: anonymous → 401; unidentified → 403; own → 409; then a real friend.
    helps = f"{SHOP}/bargains/{bargain_id}/helps"
    assert api.post(helps).status_code == 401
    anonymous = _shopper(session, make_helper(session, cipher, identified=False))
    before = snapshot(session)
    refused = api.post(helps, headers=anonymous)
    assert (refused.status_code, refused.json()["code"]) == (403, "helper.not_identified")
    own = api.post(helps, headers=me)
    assert (own.status_code, own.json()["code"]) == (409, "helper.own")
    assert snapshot(session) == before
    friend = _shopper(session, make_helper(session, cipher, name="李雷"))
    helped = api.post(helps, headers=friend)
    assert helped.status_code == 201, helped.text
    seed = bargains.by_public_id(session, bargain_id).seed
    plan = cuts.plan(seed, 10000, 3)
    assert (helped.json()["sequence"], helped.json()["cut_amount"]) == (1, plan[0])
    assert len(helped.json()["coupon_code"]) == 12
    view = api.get(f"{SHOP}/bargains/{bargain_id}", headers=friend).json()
    assert (view["current_price"], view["helped"], view["is_mine"]) == (
        12900 - plan[0],
        True,
        False,
    )
    assert [(h["name"], h["cut_amount"]) for h in view["helpers"]] == [("李*", plan[0])]
    twice = api.post(helps, headers=friend)
    assert (twice.status_code, twice.json()["code"]) == (409, "helper.already_helped")
    # Only the initiator buys.
    order_url = f"{SHOP}/bargains/{bargain_id}/order"
    stranger = api.post(order_url, json={"address": ADDRESS}, headers=friend)
    assert (stranger.status_code, stranger.json()["code"]) == (404, "bargain.not_found")
    bought = api.post(order_url, json={"address": ADDRESS}, headers=me)
    assert bought.status_code == 201, bought.text
    assert bought.json()["unit_price"] == 12900 - plan[0]
    assert bought.json()["bargain"]["status"] == "ordered"
    assert bought.json()["bargain"]["order_public_id"] == bought.json()["order_public_id"]
    twice_bought = api.post(order_url, json={"address": ADDRESS}, headers=me)
    assert (twice_bought.status_code, twice_bought.json()["code"]) == (
        409,
        "bargain.already_ordered",
    )
    # The operator's audit recomputes the plan from the seed.
    audit = api.get(f"{API}/bargains/{bargain_id}/audit", headers=bearer(session)).json()
    assert (audit["matches"], audit["entries"][0]["recorded_cut"]) == (True, plan[0])
    assert api.get(f"{API}/bargains/{bargain_id}/audit", headers=me).status_code == 401


def test_ended_campaign_is_hidden_and_refuses(
    api: TestClient, session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session)
    initiator = make_helper(session, cipher)
    bargain = bargains.start(session, made.campaign, made.deal, initiator.id)
    frozen_clock.advance(timedelta(days=3))
    assert api.get(f"{SHOP}/{made.campaign.public_id}").status_code == 404
    helper = _shopper(session, make_helper(session, cipher))
    refused = api.post(f"{SHOP}/bargains/{bargain.public_id}/helps", headers=helper)
    assert (refused.status_code, refused.json()["code"]) == (409, "campaign.ended")
