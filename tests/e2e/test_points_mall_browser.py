"""The points mall in a real (mobile-sized) browser against a live server: a coupon is
exchanged at once ("已兑换"), a points-only goods item becomes a paid mall order whose
page the shopper lands on."""

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
from siyu.members import memberships, points
from siyu.models.customer import Customer
from siyu.models.location import LocationKind
from siyu.models.member import PointsMallItemKind
from siyu.models.order import Order, OrderStatus
from tests.catalog.factories import make_location, make_product, make_sku, put_stock
from tests.live import serve
from tests.members.mall_factories import make_item, make_template

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Mall:
    base_url: str
    factory: sessionmaker[Session]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def mall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mall]:
    data_dir: Path = tmp_path_factory.mktemp("points-mall")
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
        template = make_template(session, name="10 元无门槛券")
        make_item(session, coupon_template_id=template.id, points_price=100, name="10 元无门槛券")
        make_item(
            session,
            kind=PointsMallItemKind.GOODS,
            sku_id=sku.id,
            points_price=300,
            name="积分换口红",
        )
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-mall-" + "k" * 40,
        run_worker=False,
        shop_demo_login=True,
    )
    try:
        with serve(create_app(settings, start_worker=False), name="siyu-mall-server") as base_url:
            yield Mall(base_url, factory)
    finally:
        engine.dispose()


def test_exchange_a_coupon_then_goods(page: Any, mall: Mall) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(8000)
    page.goto(mall.url("/shop/points-mall"))
    page.wait_for_url("**/shop/login?next=*")
    page.wait_for_selector("#demo-login-form")
    page.fill("#demo-login-form input[name=shopper]", "mall-shopper")
    page.click("#demo-login-submit")
    page.wait_for_url("**/shop/points-mall")
    with transaction(mall.factory) as session:
        customer_id = session.scalars(select(Customer.id).order_by(Customer.id.desc())).first()
        assert customer_id is not None
        memberships.ensure(session, customer_id)
        points.earn(session, customer_id, 1000, reference="e2e:seed", reason="seed")
    page.reload()
    page.wait_for_selector("#points-items:not([aria-busy])")
    assert page.text_content("#points-balance") == "1000"

    coupon = page.locator("li.points-item[data-kind=coupon]")
    coupon.locator("button").click()
    page.wait_for_selector("li.points-exchange[data-status=completed]")
    assert page.text_content("#points-balance") == "900"
    page.wait_for_selector("li.points-item[data-exchanged=true]")
    assert coupon.locator("[data-state]").text_content() == "已兑换"
    assert page.locator("li.points-exchange").count() == 1

    goods = page.locator("li.points-item[data-kind=goods]")
    goods.locator("button").click()
    goods.locator("input[name=recipient]").fill("张三")
    goods.locator("input[name=phone]").fill("13812345678")
    goods.locator("input[name=region]").fill("上海市 徐汇区")
    goods.locator("input[name=detail]").fill("漕溪北路 1 号")
    goods.locator("[data-confirm]").click()
    page.wait_for_url("**/shop/orders/ord_*")
    public_id = page.url.rsplit("/", 1)[-1]
    with mall.factory() as session:
        order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert (order.status, order.total_amount, order.customer_id) == (
            OrderStatus.PAID,
            0,
            customer_id,
        )
        assert points.balance(session, customer_id) == (600, 0)
