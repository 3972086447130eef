"""Members in a real browser against a live server: the shopper's member centre
(tier card, progress, points, history, links), points spent at checkout, and the
operator's member card with a manual points adjustment."""

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
from siyu.members import growth, memberships, points
from siyu.models.customer import Customer
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from tests.customers.factories import make_cipher, make_customer
from tests.live import serve
from tests.members.factories import make_ladder
from tests.orders.factories import make_shelf

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "members-admin", "members-admin-password"


@dataclass(frozen=True)
class Site:
    base_url: str
    factory: sessionmaker[Session]
    member_id: int

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("members")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-members-" + "k" * 40,
        run_worker=False,
        shop_demo_login=True,
    )
    with transaction(factory) as session:
        make_ladder(session)
        member = make_customer(session, make_cipher(), name="王五")
        memberships.ensure(session, member.id)
        points.earn(session, member.id, 800, reference="e2e:seed", reason="seed")
        staff_service.create_staff(
            session, command_line_principal(), username=ADMIN, password=PASSWORD, roles=["admin"]
        )
        member_id = member.id
    try:
        with serve(create_app(settings, start_worker=False), name="siyu-members") as base_url:
            yield Site(base_url, factory, member_id)
    finally:
        engine.dispose()


def test_member_centre_shows_tier_progress_points_and_history(page: Any, site: Site) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(8000)
    page.goto(site.url("/shop/member"))
    page.wait_for_url("**/shop/login?next=*")
    page.fill("#demo-login-form input[name=shopper]", "member-shopper")
    page.click("#demo-login-submit")
    page.wait_for_url("**/shop/member")
    with transaction(site.factory) as session:
        customer_id = session.scalars(select(Customer.id).order_by(Customer.id.desc())).first()
        assert customer_id is not None
        growth.add(session, customer_id, 1500, source="order", reference="e2e:order")
        points.earn(session, customer_id, 300, reference="e2e:gift", reason="gift")
        points.spend(session, customer_id, 120, reference="e2e:spend", reason="checkout")
    page.reload()
    page.wait_for_selector("#member-card:not([aria-busy])")
    assert page.text_content("#member-tier") == "银卡"
    # 1500 of silver (1000) → gold (5000): 3500 to go, 500 / 4000 = 12.5 % → 13.
    assert page.text_content("#member-progress-text") == "再获得 3500 成长值升级为金卡"
    assert page.get_attribute("#member-progress-bar", "aria-valuenow") == "13"
    assert page.text_content("#points-available") == "180"
    page.wait_for_selector("#points-history:not([aria-busy])")
    kinds = page.eval_on_selector_all("#points-history li", "els => els.map(e => e.dataset.kind)")
    assert kinds == ["spend", "earn"]
    assert page.locator("#member-ladder li.current").get_attribute("data-tier") == "silver"
    assert page.get_attribute("#link-coupons", "href") == "/shop/coupons/mine"
    assert page.get_attribute("#link-points-mall", "href") == "/shop/points-mall"


def test_operator_adjusts_points_on_the_member_card(page: Any, site: Site) -> None:
    page.goto(site.url("/console/login"))
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url("/console"))
    page.click('a[href="/console/members"]')
    page.wait_for_selector("#tiers")
    assert page.locator("#tiers tbody tr").count() == 4
    page.fill("#lookup-form input[name=customer_id]", str(site.member_id))
    page.click("#lookup-form button")
    page.wait_for_selector("#member-summary")
    assert page.text_content('[data-fact="points"]') == "800"
    page.fill("#adjust-form input[name=amount]", "-50")
    page.click("#adjust-form button[type=submit]")
    page.wait_for_selector("#card-error")  # no reason: refused, nothing changed
    assert page.text_content('[data-fact="points"]') == "800"
    page.fill("#adjust-form input[name=amount]", "-50")
    page.fill("#adjust-form input[name=reason]", "重复发放")
    page.click("#adjust-form button[type=submit]")
    page.wait_for_selector("#card-flash")
    assert page.text_content('[data-fact="points"]') == "750"
    assert page.locator("#ledger tbody tr").first.get_attribute("data-kind") == "adjust"
    with transaction(site.factory) as session:
        assert points.balance(session, site.member_id) == (750, 0)


def test_checkout_spends_the_points_the_preview_offers(page: Any, site: Site) -> None:
    with transaction(site.factory) as session:
        sku_id = make_shelf(session, prices=(12900,)).skus[0].id
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(8000)
    page.goto(site.url(f"/shop/checkout?sku={sku_id}&quantity=1"))
    page.wait_for_url("**/shop/login?next=*")
    page.fill("#demo-login-form input[name=shopper]", "points-shopper")
    page.click("#demo-login-submit")
    page.wait_for_url("**/shop/checkout?*")
    with transaction(site.factory) as session:
        customer_id = session.scalars(select(Customer.id).order_by(Customer.id.desc())).first()
        assert customer_id is not None
        points.earn(session, customer_id, 5000, reference="e2e:points-shopper", reason="gift")
    page.reload()
    page.wait_for_selector("#points-section:not([hidden])")
    # At most 20 % of ¥129.00 = ¥25.80, at 100 points a yuan: 2,580 of the 5,000.
    assert page.text_content("#points-label") == "使用 2580 积分，抵 ¥25.80"
    assert page.text_content("#checkout-total") == "¥129.00"
    page.check("#points-use")
    page.wait_for_selector("#checkout-total:has-text('¥103.20')")
    page.fill("input[name=recipient]", "钱七")
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=region]", "上海市 静安区")
    page.fill("input[name=detail]", "南京西路 1 号")
    page.click("#place-order")
    page.wait_for_url("**/shop/pay/*")
    with transaction(site.factory) as session:
        assert points.balance(session, customer_id) == (5000 - 2580, 0)
