"""The campaign list in a real browser: a shopper sees what is on now with a ticking
countdown; an operator sees every campaign with its phase in the console."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.campaigns.posters import share
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models.campaign import CampaignKind
from siyu.models.order import Order
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from tests.campaigns.registry.factories import make_campaign
from tests.customers.factories import make_cipher, make_customer
from tests.live import serve
from tests.orders.factories import make_shelf

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "campaign-admin", "campaign-admin-password"
SECRET = "e2e-campaigns-" + "k" * 40


@dataclass(frozen=True)
class Site:
    base_url: str
    live_id: str
    warming_id: str
    factory: sessionmaker[Session]
    product_id: int
    sku_id: int
    sharer_code: str
    sharer_id: int

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("campaigns")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        staff = staff_service.create_staff(
            session,
            command_line_principal(),
            username=ADMIN,
            password=PASSWORD,
            roles=["admin"],
            display_name="活动运营",
        )
        live = make_campaign(
            session,
            kind=CampaignKind.FLASH_SALE,
            name="午夜秒杀",
            starts_in=timedelta(hours=-1),
            staff=staff,
        )
        warming = make_campaign(
            session,
            kind=CampaignKind.LOTTERY,
            name="会员日抽奖",
            starts_in=timedelta(hours=3),
            warmup=timedelta(hours=6),
            staff=staff,
        )
        make_campaign(
            session, kind=CampaignKind.BARGAIN, name="草稿砍价", publish=False, staff=staff
        )
        shelf = make_shelf(session)
        sharer = make_customer(session, make_cipher())
        ids = (live.public_id, warming.public_id)
        product_id, sku_id, sharer_id = shelf.skus[0].product_id, shelf.skus[0].id, sharer.id
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=SECRET,
        run_worker=False,
        shop_demo_login=True,
    )
    code = share.customer_code(SECRET, sharer_id)
    with serve(create_app(settings, start_worker=False), name="siyu-e2e-campaigns") as base_url:
        yield Site(base_url, *ids, factory, product_id, sku_id, code, sharer_id)
    engine.dispose()


def test_a_shopper_sees_what_is_on_with_a_countdown(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url("/shop"))
    page.locator("#campaign-entry").click()
    expect(page).to_have_url(site.url("/shop/campaigns"))
    live = page.locator(f'[data-campaign="{site.live_id}"]')
    expect(live).to_contain_text("午夜秒杀")
    expect(live).to_contain_text("距结束")
    expect(page.locator(f'[data-campaign="{site.warming_id}"]')).to_contain_text("距开始")
    expect(page.locator(".campaign-card")).to_have_count(2)
    first = live.locator(".campaign-countdown").inner_text()
    page.wait_for_timeout(1200)
    assert live.locator(".campaign-countdown").inner_text() != first
    href = live.locator("a").get_attribute("href")
    assert href == f"/shop/campaigns/flash-sale/{site.live_id}"


def test_an_operator_sees_every_campaign_and_its_phase(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url("/console/login"))
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url("/console"))
    page.goto(site.url("/console/campaigns"))
    expect(page.locator(f'tr[data-campaign="{site.live_id}"]')).to_contain_text("进行中")
    expect(page.locator(f'tr[data-campaign="{site.warming_id}"]')).to_contain_text("预热中")
    draft = page.locator('tr[data-phase="draft"]')
    expect(draft).to_contain_text("草稿砍价")
    draft.locator('[data-action="publish"]').click()
    expect(page.locator("#campaigns-flash")).to_be_visible()
    expect(page.locator('tr[data-phase="draft"]')).to_have_count(0)


def test_a_share_link_names_the_referrer_and_the_product_has_a_poster(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    # A friend's poster opens the product page with ?ref=<their share code>.
    page.goto(site.url(f"/shop/products/{site.product_id}?ref={site.sharer_code}"))
    page.wait_for_selector("#product:not([aria-busy])")
    page.click("#product-poster-button")
    page.wait_for_url("**/shop/login?next=*")
    page.fill("#demo-login-form input[name=shopper]", "poster-shopper")
    page.click("#demo-login-submit")
    page.wait_for_url(f"**/shop/products/{site.product_id}*")
    page.click("#product-poster-button")
    poster = page.locator("#product-poster")
    expect(poster).to_be_visible()
    assert (poster.get_attribute("src") or "").startswith("data:image/png;base64,")
    # Checkout sends the kept code: the order names the friend as its referrer.
    page.goto(site.url(f"/shop/checkout?sku={site.sku_id}&quantity=1"))
    page.fill("input[name=recipient]", "王五")
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=region]", "上海市 静安区")
    page.fill("input[name=detail]", "南京西路 1 号")
    page.click("#place-order")
    page.wait_for_url("**/shop/pay/*")
    with site.factory() as session:
        order = session.scalars(select(Order).order_by(Order.id.desc())).first()
        assert order is not None
        assert order.referrer_customer_id == site.sharer_id
