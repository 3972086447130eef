"""Console pages at /console/campaigns/group-buy: create, monitor (groups, members,
timer, virtual label), edit a deal, and who may see them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.campaign import Campaign
from siyu.models.group_buy import GroupBuyDeal
from siyu.models.staff import Role
from tests.campaigns.group_buy.factories import make_deal, open_and_pay
from tests.customers.factories import make_customer
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.orders.factories import Shelf
from tests.web.console_helpers import sign_in

BASE = "/console/campaigns/group-buy"


def _sign_in(api: TestClient, session: Session, role: Role = Role.OPERATOR) -> str:
    return sign_in(api, make_staff(session, roles=[role]).username, DEFAULT_PASSWORD)


def _form(csrf: str, sku_id: int, **changes: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "name": "周末三人团",
        "lifecycle_stage": "acquire",
        "starts_at": "2026-11-22T09:00",
        "ends_at": "2026-11-23T23:00",
        "sku_id": str(sku_id),
        "title": "口红三人团",
        "group_price_yuan": "99",
        "leader_price_yuan": "89.50",
        "group_size": "3",
        "time_limit_minutes": "120",
        "stock_total": "30",
        "per_customer_limit": "",
        "virtual_completion": "on",
        "publish": "on",
        **changes,
    }


def test_create_then_monitor_and_edit(
    api: TestClient,
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    shelf: Shelf,
    frozen_clock: FrozenClock,
) -> None:
    csrf = _sign_in(api, session)
    new_page = api.get(BASE + "/new")
    assert new_page.status_code == 200
    assert "模拟成团" in new_page.text
    bad = api.post(BASE + "/new", data=_form(csrf, shelf.skus[0].id, group_price_yuan="abc"))
    assert bad.status_code == 422
    assert 'data-field="group_price_yuan"' in bad.text
    too_dear = api.post(BASE + "/new", data=_form(csrf, shelf.skus[0].id, leader_price_yuan="120"))
    assert too_dear.status_code == 422
    assert session.scalar(select(Campaign.id)) is None

    created = api.post(BASE + "/new", data=_form(csrf, shelf.skus[0].id), follow_redirects=False)
    assert created.status_code == 303, created.text
    campaign = session.scalars(select(Campaign)).one()
    deal = session.scalars(select(GroupBuyDeal)).one()
    assert created.headers["location"] == f"{BASE}/{campaign.public_id}?done=created"
    assert (deal.group_price, deal.leader_price, deal.virtual_completion) == (9900, 8950, True)

    group, _ = open_and_pay(
        session, cipher, settings, deal, make_customer(session, cipher, name="韩梅梅").id
    )
    monitor = api.get(f"{BASE}/{campaign.public_id}")
    assert monitor.status_code == 200
    assert "模拟成团已开启" in monitor.text
    row = re.search(
        rf'<tr data-group="{group.public_id}" data-status="open">.*?</tr>', monitor.text, re.S
    )
    assert row is not None
    assert "韩**" in row.group(0)
    assert "剩 120 分钟" in row.group(0)
    assert "1/3" in row.group(0)
    live = api.get(f"{BASE}/{campaign.public_id}/live")
    assert 'data-counter="groups_opened">开团 <strong>1</strong>' in live.text

    frozen_clock.advance(timedelta(minutes=1))
    saved = api.post(
        f"{BASE}/{campaign.public_id}/deals/{deal.id}",
        data={
            "csrf_token": csrf,
            "title": "口红三人团",
            "group_price_yuan": "99.00",
            "leader_price_yuan": "89.50",
            "group_size": "3",
            "time_limit_minutes": "90",
            "stock_total": "40",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    session.refresh(deal)
    assert (deal.stock_total, deal.time_limit_minutes, deal.virtual_completion) == (40, 90, False)
    locked = api.post(
        f"{BASE}/{campaign.public_id}/deals/{deal.id}",
        data={"csrf_token": csrf, "group_size": "5", "group_price_yuan": "99.00"},
    )
    assert locked.status_code == 422
    assert 'id="group-buy-error"' in locked.text
    session.refresh(deal)
    assert deal.group_size == 3
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


def test_unknown_deal_on_the_monitor_is_404(
    api: TestClient, session: Session, shelf: Shelf
) -> None:
    campaign, _deal = make_deal(session, sku=shelf.skus[0])
    csrf = _sign_in(api, session)
    missing = api.post(f"{BASE}/{campaign.public_id}/deals/999999", data={"csrf_token": csrf})
    assert missing.status_code == 404


def test_add_a_deal_from_the_monitor(api: TestClient, session: Session, shelf: Shelf) -> None:
    campaign, _deal = make_deal(session, sku=shelf.skus[0])
    csrf = _sign_in(api, session)
    url = f"{BASE}/{campaign.public_id}/deals"
    fields = {
        "csrf_token": csrf,
        "sku_id": str(shelf.skus[0].id),
        "title": "口红五人团",
        "group_price_yuan": "79",
        "group_size": "5",
        "time_limit_minutes": "600",
        "stock_total": "20",
        "new_customers_only": "on",
    }
    missing = api.post(url, data={**fields, "title": ""})
    assert missing.status_code == 422
    assert "请检查“拼团标题”" in missing.text
    added = api.post(url, data=fields, follow_redirects=False)
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{BASE}/{campaign.public_id}?done=added"
    rows = session.scalars(
        select(GroupBuyDeal)
        .where(GroupBuyDeal.campaign_id == campaign.id)
        .order_by(GroupBuyDeal.id)
    ).all()
    assert [
        (row.title, row.group_price, row.group_size, row.new_customers_only) for row in rows
    ] == [
        ("口红三人团", 9900, 3, False),
        ("口红五人团", 7900, 5, True),
    ]
    page = api.get(f"{BASE}/{campaign.public_id}?done=added")
    assert "拼团商品已添加。" in page.text
    assert page.text.count('class="form-grid deal-form"') == 2
