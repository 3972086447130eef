"""Console pages at /console/campaigns/assist: create (gift or coupon), monitor with
progress and live counters, and who may see them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.assist import assists
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.bargain import AssistDeal
from siyu.models.campaign import Campaign
from siyu.models.staff import Role
from tests.campaigns.bargain.factories import make_helper
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.members.mall_factories import make_template
from tests.orders.factories import make_shelf
from tests.web.console_helpers import sign_in

BASE = "/console/campaigns/assist"


def _sign_in(api: TestClient, session: Session, role: Role = Role.OPERATOR) -> str:
    return sign_in(api, make_staff(session, roles=[role]).username, DEFAULT_PASSWORD)


def test_create_then_monitor(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
) -> None:
    gift = make_shelf(session, prices=(5900,), warehouse_stock=20, store_stock=0).skus[0]
    template = make_template(session, name="好友 3 元券")
    csrf = _sign_in(api, session)
    assert "好友 3 元券" in api.get(BASE + "/new").text
    form = {
        "csrf_token": csrf,
        "name": "0 元领小样",
        "lifecycle_stage": "refer",
        "starts_at": "2026-11-22T09:00",
        "ends_at": "2026-11-25T23:00",
        "required_assists": "3",
        "reward_kind": "gift",
        "gift_sku_id": str(gift.id),
        # A stale value of the other reward kind is ignored.
        "reward_coupon_template_id": str(template.id),
        "reward_stock": "40",
        "daily_help_limit": "3",
        "time_limit_minutes": "1440",
        "helper_coupon_template_id": str(template.id),
        "publish": "on",
    }
    bad = api.post(BASE + "/new", data={**form, "required_assists": "0"})
    assert bad.status_code == 422
    assert 'data-field="required_assists"' in bad.text
    no_gift = api.post(BASE + "/new", data={**form, "gift_sku_id": "999999"})
    assert no_gift.status_code == 422
    assert 'data-field="gift_sku_id"' in no_gift.text
    assert session.scalar(select(Campaign.id)) is None
    created = api.post(BASE + "/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    campaign = session.scalars(select(Campaign)).one()
    deal = session.scalars(select(AssistDeal)).one()
    assert (deal.reward_kind, deal.gift_sku_id, deal.reward_coupon_template_id) == (
        "gift",
        gift.id,
        None,
    )
    assist = assists.start(session, campaign, deal, make_helper(session, cipher).id)
    assists.help_assist(session, assist, make_helper(session, cipher).id)
    monitor = api.get(f"{BASE}/{campaign.public_id}")
    assert monitor.status_code == 200
    row = re.search(rf'<tr data-assist="{assist.public_id}".*?</tr>', monitor.text, re.S)
    assert row is not None
    assert "1/3" in row.group(0)
    live = api.get(f"{BASE}/{campaign.public_id}/live")
    assert 'data-counter="assist_helps">助力 <strong>1</strong>' in live.text
    assert 'data-counter="assist_rewards_left">剩余奖励 <strong>40</strong>' in live.text
    assert f'href="{BASE}/{campaign.public_id}"' in api.get(BASE).text


@pytest.mark.parametrize("path", [BASE, BASE + "/new", BASE + "/cmp_missing"])
def test_pages_need_campaigns_manage(api: TestClient, session: Session, path: str) -> None:
    anonymous = api.get(path, follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    _sign_in(api, session, Role.GUIDE)
    assert api.get(path).status_code == 403
    api.cookies.clear()
    _sign_in(api, session, Role.OPERATOR)
    assert api.get(path).status_code == (404 if path.endswith("missing") else 200)
