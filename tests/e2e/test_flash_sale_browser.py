"""The flash sale in a real (mobile-sized) browser against a live server: a live
session counts down to its end and an upcoming one to its start; the buyer reserves
with an address, is taken to the order written for the reservation, pays it on the
ordinary pay page; the item shows sold out; the console monitor shows the counters
and a balanced stock audit."""

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
from siyu.campaigns.flash_sale import service
from siyu.campaigns.flash_sale.schemas import FlashSaleIn, ItemIn, SessionIn
from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models.flash_sale import FlashSaleReservation
from siyu.models.order import Order, OrderStatus
from siyu.models.staff import Role
from siyu.staff.principal import command_line_principal
from tests.campaigns.flash_sale.factories import campaign_fields
from tests.factories import make_staff
from tests.live import serve
from tests.orders.factories import make_shelf

pytestmark = pytest.mark.e2e

OPERATOR, PASSWORD = "flash-operator", "flash-operator-password"


@dataclass(frozen=True)
class Site:
    base_url: str
    factory: sessionmaker[Session]
    campaign: str

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("flash-sale")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    now = clock.now()
    with transaction(factory) as session:
        sku = make_shelf(session, prices=(5900,), warehouse_stock=10, store_stock=0).skus[0]
        starts, ends = now - timedelta(minutes=5), now + timedelta(hours=3)
        item = ItemIn(sku_id=sku.id, campaign_price=990, starting_stock=1, per_customer_limit=1)
        campaign = service.create(
            session,
            command_line_principal("test"),
            FlashSaleIn(
                campaign=campaign_fields(starts_at=starts, ends_at=ends),
                sessions=[
                    SessionIn(
                        name="现在场",
                        starts_at=starts,
                        ends_at=now + timedelta(hours=1),
                        items=[item],
                    ),
                    SessionIn(
                        name="下一场",
                        starts_at=now + timedelta(hours=2),
                        ends_at=ends,
                        items=[item],
                    ),
                ],
                publish=True,
            ),
        )
        public_id = campaign.public_id
        make_staff(session, username=OPERATOR, password=PASSWORD, roles=[Role.OPERATOR])
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-flash-sale-" + "k" * 40,
        run_worker=True,
        shop_demo_login=True,
    )
    try:
        # With its in-process worker, as `siyu serve` runs: orders follow reservations.
        with serve(create_app(settings, start_worker=True), name="siyu-flash-sale-server") as url:
            yield Site(url, factory, public_id)
    finally:
        engine.dispose()


def test_countdown_reserve_order_and_pay(page: Any, site: Site) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(10000)
    target = f"/shop/campaigns/flash-sale/{site.campaign}"
    page.goto(site.url(f"/shop/login?next={target}"))
    page.fill("#demo-login-form input[name=shopper]", "flash-shopper")
    page.click("#demo-login-submit")
    page.wait_for_url(f"**{target}")
    page.wait_for_selector("#flash-head:not([aria-busy])")
    live = page.locator(".flash-session[data-phase=live]")
    upcoming = page.locator(".flash-session[data-phase=upcoming]")
    assert "距结束" in live.locator("[data-countdown]").text_content()
    assert "距开抢" in upcoming.locator("[data-countdown]").text_content()
    assert upcoming.locator("button.flash-buy").is_disabled()
    assert "¥9.90" in live.text_content()

    page.fill("#flash-address input[name=recipient]", "张三")
    page.fill("#flash-address input[name=phone]", "13812345678")
    page.fill("#flash-address input[name=region]", "上海市 徐汇区")
    page.fill("#flash-address input[name=detail]", "漕溪北路 1 号")
    live.locator("button.flash-buy").click()
    page.wait_for_url("**/shop/orders/ord_*")
    page.click("#order-pay")
    page.wait_for_url("**/shop/pay/**")
    page.click("#pay-confirm")
    page.wait_for_url("**/shop/orders/*paid=1*")

    with site.factory() as session:
        [reservation] = session.scalars(select(FlashSaleReservation)).all()
        order = session.get(Order, reservation.order_id)
        assert order is not None
        assert (order.status, order.total_amount - order.shipping_amount) == (
            OrderStatus.PAID,
            990,
        )

    page.goto(site.url(f"/shop/campaigns/flash-sale/{site.campaign}"))
    page.wait_for_selector("#flash-head:not([aria-busy])")
    sold_out = page.locator(".flash-session[data-phase=live] button.flash-buy")
    assert sold_out.text_content() == "已抢光"
    assert sold_out.is_disabled()


def test_the_console_monitor_shows_counters_and_the_audit(page: Any, site: Site) -> None:
    page.goto(site.url("/console/login"))
    page.fill("input[name=username]", OPERATOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url("/console"))
    page.goto(site.url("/console/campaigns/flash-sale"))
    page.click(f"tr[data-flash-sale='{site.campaign}'] a")
    page.wait_for_selector("#flash-sale-counters")
    assert "进行中" in page.text_content("#flash-sale-phase")
    assert page.locator("[data-audit=balanced]").count() == 2
    assert page.locator("[data-audit=unbalanced]").count() == 0
