"""Coupons in a real browser against a live server: a shopper claims a coupon in the
coupon centre, checkout suggests and applies it (and lets them drop it), the order
uses it; an operator creates and activates a template in the console, sees its live
stats, and a coupon is written off at the till."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models.coupon import Coupon, CouponKind, CouponStatus, CouponTemplate
from siyu.models.customer import Customer
from siyu.models.order import Order
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from tests.coupons.factories import give, make_template
from tests.live import serve
from tests.orders.factories import make_shelf

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "coupon-admin", "coupon-admin-password"


@dataclass(frozen=True)
class Shop:
    base_url: str
    factory: sessionmaker[Session]
    sku_id: int
    store_id: int
    threshold_public_id: str

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data_dir: Path = tmp_path_factory.mktemp("coupons")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        shelf = make_shelf(session)  # 129.00 and 59.00
        threshold = make_template(session, threshold_amount=20000, discount_amount=3000)
        threshold.name = "满200减30"
        make_template(
            session, kind=CouponKind.NO_THRESHOLD, threshold_amount=0, discount_amount=500
        ).name = "5元无门槛"
        staff_service.create_staff(
            session,
            command_line_principal(),
            username=ADMIN,
            password=PASSWORD,
            roles=["admin"],
        )
        ids = (shelf.skus[0].id, shelf.store.id, threshold.public_id)
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-coupons-" + "k" * 40,
        run_worker=False,
        shop_demo_login=True,
    )
    try:
        with serve(create_app(settings, start_worker=False), name="siyu-coupons") as base_url:
            yield Shop(base_url, factory, *ids)
    finally:
        engine.dispose()


def test_claim_in_the_centre_and_use_it_at_checkout(page: Any, shop: Shop) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(8000)
    page.goto(shop.url("/shop/coupons"))
    page.wait_for_selector("#coupon-centre:not([aria-busy])")
    assert page.locator("li.coupon-card").count() == 2
    card = page.locator(f'li.coupon-card[data-template="{shop.threshold_public_id}"]')
    card.locator("button[data-claim]").click()
    page.wait_for_url("**/shop/login?next=*")
    page.fill("#demo-login-form input[name=shopper]", "coupon-shopper")
    page.click("#demo-login-submit")
    page.wait_for_url("**/shop/coupons")
    page.wait_for_selector("#coupon-centre:not([aria-busy])")
    card.locator("button[data-claim]").click()
    page.wait_for_selector(
        f'li.coupon-card[data-template="{shop.threshold_public_id}"][data-just-claimed]'
    )
    assert card.locator(".coupon-state").inner_text() == "已领取"
    page.goto(shop.url("/shop/coupons/mine"))
    page.wait_for_selector("#my-coupons:not([aria-busy])")
    assert page.locator("#my-coupons li.coupon-card").count() == 1
    assert "满 ¥200.00 减 ¥30.00" in page.locator("#my-coupons").inner_text()

    # Two units (258.00): the claimed coupon is suggested and applied, shipping is free.
    page.goto(shop.url(f"/shop/checkout?sku={shop.sku_id}&quantity=2"))
    expect(page.locator("#checkout-total")).to_have_text("¥228.00")
    assert not page.locator("#coupon-section").is_hidden()
    assert "省 ¥30.00" in page.locator("#coupon-saving").inner_text()
    page.select_option("#coupon-choice", "none")
    expect(page.locator("#checkout-total")).to_have_text("¥258.00")
    with transaction(shop.factory) as session:
        code = session.scalars(select(Coupon.code)).one()
    page.select_option("#coupon-choice", code)
    expect(page.locator("#checkout-total")).to_have_text("¥228.00")
    page.fill("input[name=recipient]", "李四")
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=region]", "上海市 静安区")
    page.fill("input[name=detail]", "南京西路 1 号")
    page.click("#place-order")
    page.wait_for_url("**/shop/pay/*")
    with shop.factory() as session:
        order = session.scalars(select(Order)).one()
        coupon = session.scalars(select(Coupon).where(Coupon.code == code)).one()
        assert (order.discount_amount, order.total_amount) == (3000, 22800)
        assert (coupon.status, coupon.order_id) == (CouponStatus.USED, order.id)


def _console_login(page: Any, shop: Shop) -> None:
    page.goto(shop.url("/console/login"))
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(shop.url("/console"))


def test_operator_creates_a_template_and_writes_off_a_coupon(page: Any, shop: Shop) -> None:
    _console_login(page, shop)
    page.click('a[href="/console/coupons"]')
    page.wait_for_selector("#coupon-templates")
    page.click("#new-template")
    form = page.locator("#template-form")
    form.locator("input[name=name]").fill("8.5折券")
    form.locator("select[name=kind]").select_option("percent_off")
    form.locator("input[name=rate_zhe]").fill("8.5")
    form.locator("input[name=max_discount_yuan]").fill("50")
    form.locator("select[name=validity]").select_option("relative")
    form.locator("input[name=valid_days]").fill("7")
    form.locator("input[name=total_quantity]").fill("500")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#template-rules")
    assert "8.5 折，最多减 ¥50.00" in page.locator("#template-rules").inner_text()
    page.click("button[data-action=activate]")
    page.wait_for_selector("#coupons-flash")
    with transaction(shop.factory) as session:
        template = session.scalars(
            select(CouponTemplate).where(CouponTemplate.name == "8.5折券")
        ).one()
        assert template.status == "active"
        customer = session.scalars(select(Customer)).first()
        assert customer is not None
        code = give(session, template, customer.id).code
    page.goto(shop.url("/console/coupons"))
    row = page.locator(f'tr[data-template="{template.public_id}"]')
    assert row.locator('[data-stat="issued"]').inner_text() == "1 / 500"
    page.click('a[href="/console/coupons/write-off"]')
    page.fill("#write-off-form input[name=code]", code)
    page.select_option("#write-off-form select[name=store_id]", str(shop.store_id))
    page.click("#write-off-form button[type=submit]")
    page.wait_for_selector("#write-off-result")
    assert code in page.locator("#write-off-result").inner_text()
    page.goto(shop.url("/console/coupons"))
    assert row.locator('[data-stat="used"]').inner_text() == "1"
