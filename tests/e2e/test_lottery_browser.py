"""The lottery wheel in a real (mobile-sized) browser against a live server: the wheel
spins to the server's result, a goods prize is claimed with an address (a paid 0-yuan
order), the next draw falls back to thanks because the prize ran out, the chances run
out, and the share poster is drawn; the console monitor shows the draws."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models.customer import Customer
from siyu.models.location import LocationKind
from siyu.models.lottery import LotteryDraw
from siyu.models.order import Order, OrderStatus
from siyu.models.staff import Role
from tests.campaigns.lottery.factories import make_lottery
from tests.catalog.factories import make_location, make_product, make_sku, put_stock
from tests.factories import make_staff
from tests.live import serve

pytestmark = pytest.mark.e2e

OPERATOR, PASSWORD = "lottery-operator", "lottery-operator-password"


@dataclass(frozen=True)
class Site:
    base_url: str
    factory: sessionmaker[Session]
    campaign: str

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("lottery")
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
        put_stock(session, sku=sku, location=warehouse, quantity=10)
        # Every value lands on the lipstick, of which there is one: the first draw wins
        # it, the second falls back to thanks.
        campaign, _lottery = make_lottery(
            session,
            prizes=[
                {
                    "name": "丝绒口红",
                    "kind": "goods",
                    "probability": 10000,
                    "stock": 1,
                    "sku_id": sku.id,
                }
            ],
            chances_per_day=2,
        )
        public_id = campaign.public_id
        make_staff(session, username=OPERATOR, password=PASSWORD, roles=[Role.OPERATOR])
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-lottery-" + "k" * 40,
        run_worker=False,
        shop_demo_login=True,
    )
    try:
        with serve(create_app(settings, start_worker=False), name="siyu-lottery-server") as url:
            yield Site(url, factory, public_id)
    finally:
        engine.dispose()


def test_spin_claim_fall_back_and_share(page: Any, site: Site) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(8000)
    page.goto(site.url(f"/shop/campaigns/lottery/{site.campaign}"))
    page.wait_for_url("**/shop/login?next=*")
    page.fill("#demo-login-form input[name=shopper]", "lottery-shopper")
    page.click("#demo-login-submit")
    page.wait_for_url(f"**/shop/campaigns/lottery/{site.campaign}")
    page.wait_for_selector("#lottery-head:not([aria-busy])")
    assert page.locator("#lottery-slots path").count() == 2
    assert page.text_content("#lottery-chances") == "今日剩余 2 / 2 次"

    page.click("#lottery-go")
    page.wait_for_selector("#lottery-result[data-outcome=won]:not([hidden])")
    assert "抽中 丝绒口红" in page.text_content("#lottery-result")
    assert page.get_attribute("#lottery-wheel", "data-slot") == "0"
    prize = page.locator("li.lottery-prize[data-kind=goods][data-claim=pending]")
    prize.locator("button").click()
    prize.locator("input[name=recipient]").fill("张三")
    prize.locator("input[name=phone]").fill("13812345678")
    prize.locator("input[name=region]").fill("上海市 徐汇区")
    prize.locator("input[name=detail]").fill("漕溪北路 1 号")
    prize.locator("[data-confirm]").click()
    page.wait_for_selector("li.lottery-prize[data-claim=claimed] a[href^='/shop/orders/']")

    page.wait_for_selector("#lottery-go:not([disabled])")
    page.click("#lottery-go")
    page.wait_for_selector("#lottery-result[data-outcome=fell_back]:not([hidden])")
    assert "刚被抽完" in page.text_content("#lottery-result")
    # The thanks slot is the wheel's second.
    assert page.get_attribute("#lottery-wheel", "data-slot") == "1"
    page.wait_for_selector("#lottery-go[data-left='0'][disabled]")

    page.click("#lottery-poster-button")
    page.wait_for_selector("#lottery-poster:not([hidden])")
    assert page.get_attribute("#lottery-poster", "src").startswith("data:image/png;base64,")

    with site.factory() as session:
        customer_id = session.scalars(select(Customer.id).order_by(Customer.id.desc())).first()
        draws = session.scalars(select(LotteryDraw).order_by(LotteryDraw.id)).all()
        assert [(row.outcome, row.customer_id) for row in draws] == [
            ("won", customer_id),
            ("fell_back", customer_id),
        ]
        order = session.get(Order, draws[0].order_id)
        assert order is not None
        assert (order.status, order.total_amount) == (OrderStatus.PAID, 0)


def test_the_console_monitor_shows_prizes_and_draws(page: Any, site: Site) -> None:
    page.goto(site.url("/console/login"))
    page.fill("input[name=username]", OPERATOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url("/console"))
    page.goto(site.url("/console/campaigns/lottery"))
    page.click(f"tr[data-lottery='{site.campaign}'] a")
    page.wait_for_selector("#lottery-prizes")
    assert "进行中" in page.text_content("#lottery-phase")
    stock = page.text_content("#lottery-prizes [data-stat=stock_left]")
    assert stock is not None
    assert stock.strip() in ("0 / 1", "1 / 1")
    page.wait_for_selector("#lottery-poster")
