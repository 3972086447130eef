"""The H5 storefront in a real (mobile-sized) browser against a live server.

The pages call /api/shop/v1 from the browser like a mini program: browse → pick a SKU
→ which stores have it → cart → checkout with a delivery address → sandbox payment →
refund one unit; and a pick-up order from a store found on the product page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.catalog.shop_api import router as catalog_shop_router
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.customers.shop_sessions_api import router as shop_sessions_router
from siyu.models.location import LocationKind
from siyu.models.order import Fulfilment, Order, OrderLine, OrderStatus
from siyu.models.payment import Refund, RefundLine, RefundStatus
from siyu.models.stock import StockLevel
from siyu.models.tracking import TrackedEvent
from siyu.web.storefront import storefront_router
from tests.catalog.factories import (
    make_category,
    make_location,
    make_product,
    make_sku,
    put_stock,
)
from tests.live import serve

pytestmark = pytest.mark.e2e

MOBILE = {"width": 390, "height": 844}
STORE_LATITUDE, STORE_LONGITUDE = 31.2200, 121.4500
# About 1.1 km north of the store.
SHOPPER_LATITUDE, SHOPPER_LONGITUDE = 31.2300, 121.4500


@dataclass(frozen=True)
class Shop:
    base_url: str
    factory: sessionmaker[Session]
    product_id: int
    red_sku_id: int
    nude_sku_id: int
    store_id: int
    category_id: int

    def url(self, path: str) -> str:
        return self.base_url + path


def _seed(factory: sessionmaker[Session]) -> dict[str, int]:
    with transaction(factory) as session:
        category = make_category(session, name="唇妆")
        warehouse = make_location(
            session,
            name="华东仓",
            kind=LocationKind.WAREHOUSE,
            accepts_pickup=False,
            ships_online=True,
        )
        store = make_location(
            session, name="静安店", latitude=STORE_LATITUDE, longitude=STORE_LONGITUDE
        )
        product = make_product(
            session, name="丝绒口红", category_id=category.id, spec_names=["颜色"], sort_weight=9
        )
        red = make_sku(
            session, product=product, specs={"颜色": "正红"}, list_price=14900, sale_price=12900
        )
        nude = make_sku(
            session, product=product, specs={"颜色": "豆沙"}, list_price=6900, sale_price=5900
        )
        for sku in (red, nude):
            put_stock(session, sku=sku, location=warehouse, quantity=50)
            put_stock(session, sku=sku, location=store, quantity=5)
        return {
            "product_id": product.id,
            "red_sku_id": red.id,
            "nude_sku_id": nude.id,
            "store_id": store.id,
            "category_id": category.id,
        }


def _mount_unwired_routers(app: FastAPI) -> None:
    """The catalog, sign-in and storefront routers until the lead wires them in app.py."""
    present = {getattr(route, "path", None) for route in app.routes}
    for path, router in (
        ("/api/shop/v1/products", catalog_shop_router),
        ("/api/shop/v1/sessions/demo", shop_sessions_router),
        ("/shop", storefront_router()),
    ):
        if path not in present:
            app.include_router(router)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data_dir: Path = tmp_path_factory.mktemp("storefront")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    ids = _seed(factory)
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-shop-" + "k" * 40,
        run_worker=False,
        shop_demo_login=True,
    )
    app = create_app(settings, start_worker=False)
    _mount_unwired_routers(app)
    try:
        with serve(app, name="siyu-storefront-server") as base_url:
            yield Shop(base_url=base_url, factory=factory, **ids)
    finally:
        engine.dispose()


def _mobile(page: Any) -> Any:
    page.set_viewport_size(MOBILE)
    page.set_default_timeout(8000)
    return page


def _sign_in(page: Any, shopper: str) -> None:
    page.wait_for_selector("#demo-login-form")
    page.fill("#demo-login-form input[name=shopper]", shopper)
    page.click("#demo-login-submit")


def _wait_busy_done(page: Any, selector: str) -> None:
    page.wait_for_selector(f"{selector}:not([aria-busy])")


def _tracked_types(shop: Shop) -> set[str]:
    with shop.factory() as session:
        return set(session.scalars(select(TrackedEvent.type)))


def test_browse_cart_pay_and_refund_one_unit(page: Any, shop: Shop) -> None:
    page = _mobile(page)
    page.goto(shop.url("/shop"))
    assert (
        page.locator("#coupon-entry p").inner_text()
        == "领券下单更划算，满减、折扣、免运费都在这里。"
    )
    card = page.locator(f".product-card[data-product-id='{shop.product_id}']")
    card.wait_for()
    assert card.locator(".product-card-price strong").inner_text() == "¥59.00 起"
    assert card.locator(".product-card-price del").inner_text() == "¥69.00"
    card.click()

    # The product page opens on the first SKU (正红); pick 豆沙 by its spec value.
    page.wait_for_url(shop.url(f"/shop/products/{shop.product_id}"))
    _wait_busy_done(page, "#product")
    assert page.locator("#product-name").inner_text() == "丝绒口红"
    assert page.locator("#product-price").inner_text() == "¥129.00"
    page.click(".spec-value[data-value='豆沙']")
    assert page.locator(".spec-value[aria-checked=true]").all_inner_texts() == ["豆沙"]
    assert page.locator("#product-price").inner_text() == "¥59.00"
    assert page.locator("#product-list-price").inner_text() == "¥69.00"
    assert page.locator("#sku-state").inner_text() == "快递配送有货"

    # Which stores have it, with the distance from a typed-in position.
    page.click("#availability .manual-location summary")
    page.fill("#location-lat", str(SHOPPER_LATITUDE))
    page.fill("#location-lng", str(SHOPPER_LONGITUDE))
    page.click("#availability-check")
    store = page.locator(f"#availability-list .store[data-store-id='{shop.store_id}']")
    store.wait_for()
    assert store.locator(".store-name").inner_text() == "静安店"
    assert store.locator(".store-distance").inner_text() == "1.1 公里"
    assert store.locator(".stock").inner_text() == "有货"

    # Adding to the cart needs a session: the demo sign-in, then back to the product.
    page.click("#add-to-cart")
    page.wait_for_url("**/shop/login?next=*")
    assert page.locator("#demo-login-form input[name=shopper]").input_value() == "demo-shopper"
    _sign_in(page, "e2e-buyer")
    page.wait_for_url(shop.url(f"/shop/products/{shop.product_id}"))
    _wait_busy_done(page, "#product")
    page.click(".spec-value[data-value='豆沙']")
    page.click("#add-to-cart")
    page.wait_for_selector("#shop-flash:has-text('已加入购物车')")

    page.click(".action-bar .action-link")
    page.wait_for_url(shop.url("/shop/cart"))
    line = page.locator(f".cart-line[data-sku-id='{shop.nude_sku_id}']")
    line.wait_for()
    assert line.locator(".cart-quantity").inner_text() == "1"
    assert page.locator("#cart-total").inner_text() == "¥59.00"

    # One unit is below the free-shipping threshold: the preview says so.
    page.click("#cart-checkout")
    page.wait_for_url("**/shop/checkout?from=cart")
    _wait_busy_done(page, "#quote-lines")
    assert page.locator("#quote-totals .total-shipping").inner_text() == "¥10.00"
    assert page.locator("#quote-messages").inner_text() == "再买 ¥40.00 免运费"
    assert page.locator("#checkout-total").inner_text() == "¥69.00"
    breakdown = page.locator("#quote-lines .breakdown")
    assert breakdown.locator("dt").all_inner_texts() == ["商品价", "运费"]
    assert breakdown.locator("dd").all_inner_texts() == ["¥59.00", "¥10.00"]

    # Back to the cart for a second unit: free shipping.
    page.goto(shop.url("/shop/cart"))
    line.locator(".cart-plus").click()
    page.wait_for_selector(f".cart-line[data-sku-id='{shop.nude_sku_id}'] .cart-quantity >> text=2")
    assert page.locator("#cart-total").inner_text() == "¥118.00"
    page.click("#cart-checkout")
    page.wait_for_url("**/shop/checkout?from=cart")
    _wait_busy_done(page, "#quote-lines")
    assert page.locator("#quote-totals .total-shipping").inner_text() == "¥0.00"
    assert page.locator("#quote-messages li").count() == 0
    assert page.locator("#checkout-total").inner_text() == "¥118.00"

    page.fill("input[name=recipient]", "李四")
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=region]", "上海市 静安区")
    page.fill("input[name=detail]", "南京西路 1 号")
    page.click("#place-order")

    # The sandbox pay page.
    page.wait_for_url("**/shop/pay/*")
    _wait_busy_done(page, "#pay")
    assert page.locator("#pay-amount").inner_text() == "¥118.00"
    page.click("#pay-confirm")
    page.wait_for_url("**/shop/orders/*?paid=1")
    _wait_busy_done(page, "#order")
    assert page.locator("#order-status").inner_text() == "已付款"
    assert page.locator("#order-totals .total-payable").inner_text() == "¥118.00"
    fulfilment = page.locator("#order-fulfilment")
    assert fulfilment.locator("h3").inner_text() == "快递配送"
    assert fulfilment.locator("p").all_inner_texts() == [
        "李四 13912345678",
        "上海市 静安区 南京西路 1 号",
    ]
    public_id = page.url.split("/shop/orders/")[1].split("?")[0]

    # Refund one of the two units.
    page.click("#order-refund")
    quantity = page.locator("#refund-lines input[data-line-no='1']")
    assert quantity.input_value() == "2"
    quantity.fill("1")
    page.fill("#refund-form input[name=reason]", "多买了一支")
    page.click("#refund-submit")
    page.wait_for_selector("#order-status >> text=退款中")
    refund = page.locator("#refund-list .refund")
    assert refund.locator(".refund-status").inner_text() == "待审核"
    assert "¥59.00" in refund.inner_text()
    assert page.locator("#order-refund").is_hidden()

    with shop.factory() as session:
        order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert order.status == OrderStatus.REFUNDING
        assert order.fulfilment == Fulfilment.DELIVERY
        assert (order.total_amount, order.paid_amount, order.shipping_amount) == (11800, 11800, 0)
        stored = session.scalars(select(Refund).where(Refund.order_id == order.id)).one()
        assert (stored.status, stored.amount) == (RefundStatus.REQUESTED, 5900)
        refund_lines = session.scalars(
            select(RefundLine.quantity).where(RefundLine.refund_id == stored.id)
        ).all()
        assert refund_lines == [1]

    # The pages tracked the visit (the tracker flushes on page hide and on start).
    page.goto(shop.url("/shop/orders"))
    page.wait_for_selector(f".order-card[data-order-id='{public_id}']")
    deadline = time.monotonic() + 12
    wanted = {"product_view", "add_to_cart", "checkout_start"}
    while not wanted <= _tracked_types(shop) and time.monotonic() < deadline:
        page.evaluate("window.siyu && window.siyu.flush()")
        time.sleep(0.3)
    assert wanted <= _tracked_types(shop)


def test_pick_up_in_a_store_found_on_the_product_page(page: Any, shop: Shop) -> None:
    page = _mobile(page)
    page.goto(shop.url(f"/shop/products/{shop.product_id}"))
    _wait_busy_done(page, "#product")
    page.click(".spec-value[data-value='正红']")
    assert page.locator("#product-price").inner_text() == "¥129.00"
    page.click("#availability .manual-location summary")
    page.fill("#location-lat", str(SHOPPER_LATITUDE))
    page.fill("#location-lng", str(SHOPPER_LONGITUDE))
    page.click("#availability-check")
    store = page.locator(f"#availability-list .store[data-store-id='{shop.store_id}']")
    store.locator("a.button").click()

    # Checkout needs a session; after signing in the pick-up choice is still there.
    page.wait_for_url("**/shop/login?next=*")
    _sign_in(page, "e2e-pickup")
    page.wait_for_url(f"**/shop/checkout?sku={shop.red_sku_id}&quantity=1&pickup={shop.store_id}")
    _wait_busy_done(page, "#quote-lines")
    assert page.locator("input[name=fulfilment][value=pickup]").is_checked()
    assert page.locator("#address-section").is_hidden()
    chosen = page.locator(f"#pickup-stores .store[data-store-id='{shop.store_id}'] input")
    assert chosen.is_checked()
    assert page.locator("#quote-totals .total-shipping").inner_text() == "¥0.00"
    assert page.locator("#checkout-total").inner_text() == "¥129.00"
    page.click("#place-order")

    page.wait_for_url("**/shop/pay/*")
    _wait_busy_done(page, "#pay")
    assert page.locator("#pay-amount").inner_text() == "¥129.00"
    page.click("#pay-confirm")
    page.wait_for_url("**/shop/orders/*?paid=1")
    _wait_busy_done(page, "#order")
    assert page.locator("#order-status").inner_text() == "已付款"
    assert page.locator("#order-fulfilment h3").inner_text() == "到店自提"
    assert page.locator("#order-fulfilment p").all_inner_texts() == ["静安店", "上海"]
    public_id = page.url.split("/shop/orders/")[1].split("?")[0]

    with shop.factory() as session:
        order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert (order.status, order.fulfilment) == (OrderStatus.PAID, Fulfilment.PICKUP)
        assert order.pickup_location_id == shop.store_id
        locations = session.scalars(
            select(OrderLine.location_id).where(OrderLine.order_id == order.id)
        ).all()
        assert locations == [shop.store_id]

    # My orders lists it under "已付款".
    page.goto(shop.url("/shop/orders"))
    page.click("#order-filters button[data-status=paid]")
    card = page.locator(f".order-card[data-order-id='{public_id}']")
    card.wait_for()
    assert card.locator(".order-status-label").inner_text() == "已付款"


def test_buy_now_then_cancel_the_unpaid_order(page: Any, shop: Shop) -> None:
    page = _mobile(page)
    # The sign-in page never sends the shopper off-site, whatever ``next`` says.
    page.goto(shop.url("/shop/login?next=//evil.example.com/shop"))
    _sign_in(page, "e2e-canceller")
    page.wait_for_url(shop.url("/shop"))

    page.goto(shop.url(f"/shop/products/{shop.product_id}"))
    _wait_busy_done(page, "#product")
    page.click(".spec-value[data-value='正红']")
    page.click("#buy-now")
    page.wait_for_url(f"**/shop/checkout?sku={shop.red_sku_id}&quantity=1")
    _wait_busy_done(page, "#quote-lines")
    assert page.locator("#checkout-total").inner_text() == "¥129.00"
    # A wrong mobile number is refused by the API and marked on the form.
    page.fill("input[name=recipient]", "赵六")
    page.fill("input[name=phone]", "12345")
    page.fill("input[name=region]", "上海市 黄浦区")
    page.fill("input[name=detail]", "人民大道 2 号")
    page.click("#place-order")
    page.wait_for_selector("input[name=phone][aria-invalid=true]")
    assert page.locator("#shop-flash").inner_text() == "请检查填写的内容。"
    with shop.factory() as session:
        before = set(session.scalars(select(Order.public_id)))
    page.fill("input[name=phone]", "13700001111")
    page.click("#place-order")

    page.wait_for_url("**/shop/pay/*")
    _wait_busy_done(page, "#pay")
    page.click("#pay-order-link")
    page.wait_for_url("**/shop/orders/*")
    _wait_busy_done(page, "#order")
    assert page.locator("#order-status").inner_text() == "待付款"
    assert page.locator("#order-pay").is_visible()
    assert page.locator("#order-refund").is_hidden()
    page.click("#order-cancel")
    page.wait_for_selector("#order-status >> text=已取消")
    assert page.locator("#order-actions").is_hidden()

    with shop.factory() as session:
        (public_id,) = set(session.scalars(select(Order.public_id))) - before
        order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert order.status == OrderStatus.CANCELLED
        reserved = session.scalars(
            select(StockLevel.reserved).where(StockLevel.sku_id == shop.red_sku_id)
        ).all()
        assert reserved == [0, 0]


def test_categories_search_english_and_sign_out(page: Any, shop: Shop) -> None:
    page = _mobile(page)
    page.goto(shop.url("/shop"))
    page.click(f"#home-categories a[href='/shop/category/{shop.category_id}']")
    page.wait_for_url(shop.url(f"/shop/category/{shop.category_id}"))
    _wait_busy_done(page, "#category-products")
    assert page.locator("#page-title").inner_text() == "唇妆"
    assert page.locator("#category-rail .rail-item.current").inner_text() == "唇妆"
    assert page.locator("#category-products .product-card").count() == 1

    page.fill("#search-input", "口红")
    page.press("#search-input", "Enter")
    page.wait_for_url("**/shop/category/*?q=*")
    _wait_busy_done(page, "#category-products")
    assert page.locator("#page-title").inner_text() == "“口红”的搜索结果"
    assert page.locator(".product-card-name").all_inner_texts() == ["丝绒口红"]
    page.fill("#search-input", "眼影")
    page.press("#search-input", "Enter")
    page.wait_for_selector("#category-empty:visible")
    assert page.locator("#category-products .product-card").count() == 0

    # English sticks once chosen; signing in and out in English.
    page.goto(shop.url("/shop/orders?lang=en"))
    page.wait_for_url("**/shop/login?next=*")
    assert page.locator("#page-title").inner_text() == "Sign in"
    _sign_in(page, "e2e-english")
    page.wait_for_url("**/shop/orders?lang=en")
    page.wait_for_selector("#orders-empty:visible")
    assert page.locator("#orders-empty").inner_text() == "No orders yet"
    page.click("#sign-out")
    page.wait_for_url(shop.url("/shop"))
    assert page.evaluate("localStorage.getItem('siyu.shop.token')") is None
    page.goto(shop.url("/shop/cart"))
    page.wait_for_url("**/shop/login?next=%2Fshop%2Fcart")
