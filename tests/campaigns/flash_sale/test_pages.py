"""Console pages (list, create from the form, monitor with counters and the audit,
publish) and the storefront page shell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.flash_sale import service
from siyu.core import clock
from siyu.models.campaign import Campaign
from siyu.models.staff import Role
from tests.campaigns.flash_sale.factories import make_sale
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.orders.factories import make_shelf
from tests.web.console_helpers import sign_in

pytestmark = pytest.mark.usefixtures("settings")
BASE = "/console/campaigns/flash-sale"


def _sign_in(api: TestClient, session: Session, role: Role = Role.OPERATOR) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_pages_need_campaigns_manage(api: TestClient, session: Session) -> None:
    assert api.get(BASE, follow_redirects=False).status_code in (302, 303, 401)
    _sign_in(api, session, Role.ANALYST)
    assert api.get(BASE).status_code == 403
    assert api.get(BASE + "/new").status_code == 403


def test_create_from_the_form_then_monitor_and_publish(api: TestClient, session: Session) -> None:
    sku = make_shelf(session, prices=(5900,)).skus[0]
    token = _sign_in(api, session)
    assert "新建秒杀" in api.get(BASE + "/new").text
    tz = api.app.state.settings.tzinfo  # type: ignore[attr-defined]
    starts = (clock.now() + timedelta(hours=1)).astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    ends = (clock.now() + timedelta(hours=3)).astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": token,
        "name": "晚八点秒杀",
        "lifecycle_stage": "convert",
        "starts_at": starts,
        "ends_at": ends,
        "customer_rate_limit": "10",
        "ip_rate_limit": "300",
        "item_sku": [str(sku.id), ""],
        "item_price": ["9.9", ""],
        "item_stock": ["100", ""],
        "item_limit": ["2", ""],
    }
    created = api.post(BASE + "/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    campaign = session.scalars(select(Campaign).where(Campaign.name == "晚八点秒杀")).one()
    [item] = service.items_of(session, [service.sessions_of(session, [campaign.id])[0].id])
    assert (item.campaign_price, item.starting_stock, item.per_customer_limit) == (990, 100, 2)
    detail = api.get(created.headers["location"])
    assert detail.status_code == 200
    assert "库存守恒" in detail.text
    assert "¥9.90" in detail.text
    live = api.get(f"{BASE}/{campaign.public_id}/live")
    assert 'data-stat="stock_left">100<' in live.text
    published = api.post(
        f"{BASE}/{campaign.public_id}/publish", data={"csrf_token": token}, follow_redirects=False
    )
    assert published.status_code == 303
    assert campaign.status == "published"
    assert service.sessions_of(session, [campaign.id])[0].stock_engine == "database"
    listed = api.get(BASE)
    assert "晚八点秒杀" in listed.text


def test_a_bad_form_shows_the_error_and_creates_nothing(api: TestClient, session: Session) -> None:
    token = _sign_in(api, session)
    before = session.scalars(select(Campaign)).all()
    response = api.post(
        BASE + "/new",
        data={"csrf_token": token, "name": "x", "starts_at": "", "ends_at": "", "item_sku": ["1"]},
    )
    assert response.status_code == 422
    assert 'id="flash-sale-error"' in response.text
    assert session.scalars(select(Campaign)).all() == before


def test_storefront_page_shell(api: TestClient, session: Session) -> None:
    sale = make_sale(session)
    page = api.get(f"/shop/campaigns/flash-sale/{sale.campaign.public_id}")
    assert page.status_code == 200
    assert "flash_sale" in page.text
    assert 'id="flash-sessions"' in page.text
    assert api.get("/shop/campaigns/flash-sale/bad%20id").status_code == 404
    data = api.get(f"/api/shop/v1/campaigns/flash-sale/{sale.campaign.public_id}").json()
    assert [item["stock_left"] for item in data["sessions"][0]["items"]] == [10]


def test_edit_an_upcoming_session_from_the_monitor(api: TestClient, session: Session) -> None:
    sale = make_sale(session, stock=10, limit=1, starts_in=timedelta(hours=1))
    token = _sign_in(api, session)
    detail = api.get(f"{BASE}/{sale.campaign.public_id}")
    assert f'data-edit-session="{sale.session.public_id}"' in detail.text
    saved = api.post(
        f"{BASE}/{sale.campaign.public_id}/sessions/{sale.session.public_id}",
        data={
            "csrf_token": token,
            "name": "改期场",
            "item_sku": [str(sale.item.sku_id)],
            "item_price": ["5.00"],
            "item_stock": ["20"],
            "item_limit": ["2"],
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    session.refresh(sale.session)
    [item] = service.items_of(session, [sale.session.id])
    assert (sale.session.name, item.campaign_price, item.starting_stock) == ("改期场", 500, 20)
    assert item.per_customer_limit == 2


def test_a_live_session_cannot_be_edited(api: TestClient, session: Session) -> None:
    sale = make_sale(session, stock=10, limit=1)
    token = _sign_in(api, session)
    assert "data-edit-session" not in api.get(f"{BASE}/{sale.campaign.public_id}").text
    refused = api.post(
        f"{BASE}/{sale.campaign.public_id}/sessions/{sale.session.public_id}",
        data={"csrf_token": token, "name": "x"},
    )
    assert refused.status_code == 409
    session.refresh(sale.session)
    assert sale.session.name == "20:00 场"
