"""Group buy in real (mobile-sized) browsers against a live server: the leader opens a
group on the deal page and pays in the sandbox; the group page shows the countdown,
their avatar, an open seat and the share link; a friend opens that link in their own
browser, joins and pays; the group fills on both screens and in the console monitor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.campaigns.group_buy import deals
from siyu.campaigns.group_buy.schemas import DealIn, GroupBuyIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock, outbox
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models.campaign import LifecycleStage
from siyu.models.group_buy import GroupBuyGroup
from siyu.models.location import LocationKind
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from tests.catalog.factories import make_location, make_product, make_sku, put_stock
from tests.live import serve

pytestmark = pytest.mark.e2e

ADMIN = ("gb-admin", "gb-admin-password-1")


@dataclass(frozen=True)
class Shop:
    base_url: str
    factory: sessionmaker[Session]
    deal: str
    campaign: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def dispatch(self) -> None:
        """What the worker does after a payment: deliver order.paid to the handlers."""
        outbox.Dispatcher(self.factory).dispatch_pending()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data_dir: Path = tmp_path_factory.mktemp("group-buy")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        warehouse = make_location(
            session,
            name="华东仓",
            kind=LocationKind.WAREHOUSE,
            accepts_pickup=False,
            ships_online=True,
        )
        product = make_product(session, name="丝绒口红")
        sku = make_sku(session, product=product, list_price=14900, sale_price=12900)
        put_stock(session, sku=sku, location=warehouse, quantity=20)
        now = clock.now()
        actor = command_line_principal("e2e")
        staff_service.create_staff(
            session, actor, username=ADMIN[0], password=ADMIN[1], roles=["operator"]
        )
        campaign, created = deals.create(
            session,
            actor,
            GroupBuyIn(
                campaign=CampaignFields(
                    name="两人拼团",
                    lifecycle_stage=LifecycleStage.ACQUIRE,
                    starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(days=1),
                ),
                deals=[
                    DealIn(
                        sku_id=sku.id,
                        title="口红两人团",
                        group_price=9900,
                        leader_price=8900,
                        group_size=2,
                        time_limit_minutes=60,
                        stock_total=10,
                    )
                ],
                publish=True,
            ),
        )
        deal_id, campaign_id = created[0].public_id, campaign.public_id
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-group-buy-" + "k" * 40,
        run_worker=False,
        shop_demo_login=True,
    )
    try:
        with serve(create_app(settings, start_worker=False), name="siyu-gb-server") as base_url:
            yield Shop(base_url, factory, deal_id, campaign_id)
    finally:
        engine.dispose()


def _sign_in(page: Any, shopper: str, landing: str) -> None:
    page.wait_for_url("**/shop/login?next=*")
    page.wait_for_selector("#demo-login-form")
    page.fill("#demo-login-form input[name=shopper]", shopper)
    page.click("#demo-login-submit")
    page.wait_for_url(landing)


def _address_and_pay(page: Any, recipient: str) -> None:
    form = page.locator("#gb-form-slot form")
    form.locator("input[name=recipient]").fill(recipient)
    form.locator("input[name=phone]").fill("13812345678")
    form.locator("input[name=region]").fill("上海市 徐汇区")
    form.locator("input[name=detail]").fill("漕溪北路 1 号")
    form.locator("[data-confirm]").click()
    page.wait_for_url("**/shop/pay/*")
    page.wait_for_selector("#pay:not([aria-busy])")
    page.click("#pay-confirm")
    page.wait_for_url("**/shop/orders/*?paid=1")


def test_open_share_join_and_fill(browser: Any, shop: Shop) -> None:
    leader = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    friend = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    leader.set_default_timeout(8000)
    friend.set_default_timeout(8000)
    try:
        page = leader.new_page()
        # The campaign list links by the campaign's id: it leads to the deal.
        page.goto(shop.url(f"/shop/campaigns/group-buy/{shop.campaign}"))
        _sign_in(page, "gb-leader", f"**/shop/campaigns/group-buy/{shop.deal}")
        page.wait_for_selector("#gb-deal:not([aria-busy])")
        assert page.inner_text("#gb-price") == "拼团价 ¥99.00"
        assert page.inner_text("#gb-leader-price") == "团长价 ¥89.00"
        assert page.locator("#gb-virtual").is_hidden()
        page.click("#gb-open")
        _address_and_pay(page, "王小明")
        shop.dispatch()
        with shop.factory() as session:
            group = session.scalars(select(GroupBuyGroup)).one()
            assert (group.status, group.paid_count) == ("open", 1)
            group_id = group.public_id

        page.goto(shop.url(f"/shop/campaigns/group-buy/{shop.deal}"))
        mine = page.locator(f"li.gb-open-group[data-group='{group_id}'] a")
        assert mine.inner_text() == "查看我的团"
        mine.click()
        page.wait_for_selector("#gb-group[data-status=open]")
        assert page.inner_text("#gb-status") == "拼团中"
        page.wait_for_function(
            "document.querySelector('#gb-countdown').textContent.startsWith('剩余 00:5')"
        )
        assert page.locator("#gb-members li[data-me=true]").count() == 1
        assert page.locator("#gb-members li[data-seat=empty]").count() == 1
        assert page.locator("#gb-join").is_hidden()
        share = page.input_value("#gb-share-link")
        assert share == shop.url(f"/shop/campaigns/group-buy/{shop.deal}?group={group_id}")

        other = friend.new_page()
        other.goto(share)
        _sign_in(other, "gb-friend", "**/shop/campaigns/group-buy/*?group=*")
        other.wait_for_selector("#gb-group[data-status=open]")
        leader_seat = other.locator("#gb-members li[data-me=false] .gb-name")
        assert leader_seat.inner_text() == "团长"
        assert other.locator("#gb-share").is_hidden()
        other.click("#gb-join")
        _address_and_pay(other, "李雷")
        shop.dispatch()
        other.goto(share)
        other.wait_for_selector("#gb-group[data-status=filled]")
        assert other.inner_text("#gb-status") == "拼团成功"
        assert other.locator("#gb-members li").count() == 2

        page.reload()
        page.wait_for_selector("#gb-group[data-status=filled]")
        assert page.inner_text("#gb-countdown") == ""

        console = leader.new_page()
        console.goto(shop.url("/console/login"))
        console.fill("input[name=username]", ADMIN[0])
        console.fill("input[name=password]", ADMIN[1])
        console.click("#login-form button[type=submit]")
        console.wait_for_url("**/console")
        console.goto(shop.url(f"/console/campaigns/group-buy/{shop.campaign}"))
        row = console.locator(f"tr[data-group='{group_id}']")
        assert row.get_attribute("data-status") == "filled"
        assert "2/2" in row.inner_text()
        counter = console.locator("#group-buy-counters [data-counter=groups_filled] strong")
        assert counter.inner_text() == "1"
    finally:
        leader.close()
        friend.close()
