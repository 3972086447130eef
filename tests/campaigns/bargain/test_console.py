"""Console pages at /console/campaigns/bargain: create, monitor (price bar, helpers,
live counters), the cut audit page, and who may see them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.bargain import bargains
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.bargain import BargainDeal
from siyu.models.campaign import Campaign
from siyu.models.staff import Role
from tests.campaigns.bargain.factories import make_deal, make_helper
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.members.mall_factories import make_template
from tests.orders.factories import make_shelf
from tests.web.console_helpers import sign_in

BASE = "/console/campaigns/bargain"


def _sign_in(api: TestClient, session: Session, role: Role = Role.OPERATOR) -> str:
    return sign_in(api, make_staff(session, roles=[role]).username, DEFAULT_PASSWORD)


def test_create_then_monitor_and_audit(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    frozen_clock: FrozenClock,
) -> None:
    sku = make_shelf(session, prices=(12900,), warehouse_stock=20, store_stock=0).skus[0]
    template = make_template(session, name="帮砍 5 元券")
    csrf = _sign_in(api, session)
    new_page = api.get(BASE + "/new")
    assert new_page.status_code == 200
    assert "帮砍 5 元券" in new_page.text
    form = {
        "csrf_token": csrf,
        "name": "双十二砍价",
        "lifecycle_stage": "acquire",
        "starts_at": "2026-11-22T09:00",
        "ends_at": "2026-11-25T23:00",
        "sku_id": str(sku.id),
        "floor_price_yuan": "29",
        "expected_helpers": "5",
        "daily_help_limit": "3",
        "time_limit_minutes": "1440",
        "helper_coupon_template_id": str(template.id),
        "stock": "50",
        "publish": "on",
    }
    bad = api.post(BASE + "/new", data={**form, "floor_price_yuan": "abc"})
    assert bad.status_code == 422
    assert 'data-field="floor_price_yuan"' in bad.text
    too_high = api.post(BASE + "/new", data={**form, "floor_price_yuan": "128.99"})
    assert too_high.status_code == 422
    assert 'data-field="floor_price_yuan"' in too_high.text
    assert session.scalar(select(Campaign.id)) is None
    created = api.post(BASE + "/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    campaign = session.scalars(select(Campaign)).one()
    deal = session.scalars(select(BargainDeal)).one()
    assert created.headers["location"] == f"{BASE}/{campaign.public_id}?done=created"
    assert (deal.start_price, deal.floor_price, deal.stock_total) == (12900, 2900, 50)

    bargain = bargains.start(session, campaign, deal, make_helper(session, cipher).id)
    bargains.help_bargain(session, bargain, make_helper(session, cipher).id)
    monitor = api.get(f"{BASE}/{campaign.public_id}")
    assert monitor.status_code == 200
    row = re.search(rf'<tr data-bargain="{bargain.public_id}".*?</tr>', monitor.text, re.S)
    assert row is not None
    assert 'data-status="active"' in row.group(0)
    assert "1/5" in row.group(0)
    live = api.get(f"{BASE}/{campaign.public_id}/live")
    assert 'data-counter="bargain_helps">帮砍 <strong>1</strong>' in live.text
    assert 'data-counter="helper_benefits">帮砍券 <strong>1</strong>' in live.text
    audit = api.get(f"{BASE}/{campaign.public_id}/bargains/{bargain.public_id}")
    assert audit.status_code == 200
    assert 'data-matches="yes"' in audit.text
    assert bargain.seed in audit.text
    listing = api.get(BASE)
    assert f'href="{BASE}/{campaign.public_id}"' in listing.text


@pytest.mark.parametrize("path", [BASE, BASE + "/new", BASE + "/cmp_missing"])
def test_pages_need_campaigns_manage(api: TestClient, session: Session, path: str) -> None:
    anonymous = api.get(path, follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    _sign_in(api, session, Role.GUIDE)
    assert api.get(path).status_code == 403
    api.cookies.clear()
    _sign_in(api, session, Role.OPERATOR)
    assert api.get(path).status_code == (404 if path.endswith("missing") else 200)


def test_audit_of_another_campaigns_bargain_is_404(
    api: TestClient, session: Session, cipher: PiiCipher, frozen_clock: FrozenClock
) -> None:
    first = make_deal(session)
    second = make_deal(session)
    bargain = bargains.start(session, first.campaign, first.deal, make_helper(session, cipher).id)
    _sign_in(api, session)
    url = f"{BASE}/{second.campaign.public_id}/bargains/{bargain.public_id}"
    assert api.get(url).status_code == 404
