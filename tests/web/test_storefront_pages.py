"""The storefront's page shells at /shop: Chinese first, public, no customer data.

Shells are the same for everyone (the browser fetches the customer's data from
/api/shop/v1 with its token), so anonymous visitors get every page; only an unknown
or unsellable product or category is a 404 page. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.catalog.availability import StockStatus
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.models.catalog import ProductStatus
from siyu.models.order import Fulfilment, OrderStatus
from siyu.models.payment import RefundStatus
from siyu.web import i18n
from siyu.web.storefront import pages
from tests.catalog.factories import make_category, make_product, make_sku
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import ADDRESS, make_shelf, order_items, place_order

STATIC_DIR = Path(pages.__file__).resolve().parents[1] / "static" / "shop"

SHELLS = [
    ("/shop", "home", "<title>首页 · 私域商城</title>", "热卖好物"),
    ("/shop/categories", "category", "<title>全部分类 · 私域商城</title>", "搜索商品"),
    ("/shop/cart", "cart", "<title>购物车 · 私域商城</title>", "去结算"),
    ("/shop/checkout", "checkout", "<title>确认订单 · 私域商城</title>", "到店自提"),
    ("/shop/pay/pay_abc123", "pay", "<title>收银台 · 私域商城</title>", "确认支付"),
    ("/shop/orders", "orders", "<title>我的订单 · 私域商城</title>", "待付款"),
    ("/shop/orders/o_abc123", "order", "<title>订单详情 · 私域商城</title>", "申请退款"),
    ("/shop/login", "login", "<title>登录 · 私域商城</title>", "请在小程序中登录"),
]


@pytest.fixture
def shop(api: TestClient) -> TestClient:
    """The shared `api` client: the app serves the storefront (siyu.web.install)."""
    return api


@pytest.fixture
def demo_login_on(shop: TestClient) -> Iterator[None]:
    state = shop.app.state  # type: ignore[attr-defined]
    original: Settings = state.settings
    state.settings = original.model_copy(update={"shop_demo_login": True})
    try:
        yield
    finally:
        state.settings = original


def _shell(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="shop-data">(.*?)</script>', html)
    assert match, "no #shop-data blob in the shell"
    data: dict[str, object] = json.loads(match.group(1))
    return data


@pytest.mark.parametrize(("path", "page", "title", "text"), SHELLS)
def test_every_shell_renders_in_chinese_for_anyone(
    shop: TestClient, path: str, page: str, title: str, text: str
) -> None:
    response = shop.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith('<!doctype html>\n<html lang="zh-CN">')
    assert title in response.text
    assert text in response.text
    assert f'<script type="module" src="/static/shop/{page}.js"></script>' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    shell = _shell(response.text)
    assert shell["page"] == page
    assert shell["lang"] == "zh-CN"
    assert shell["token_key"] == "siyu.shop.token"
    messages = shell["messages"]
    assert isinstance(messages, dict)
    assert messages["shop.status.refunding"] == "退款中"
    assert all(key.startswith("shop.") for key in messages)


def test_tabs_mark_the_current_page(shop: TestClient) -> None:
    html = shop.get("/shop/cart").text
    assert 'class="shop-tab current" aria-current="page" data-tab="cart">购物车</a>' in html
    assert 'class="shop-tab" data-tab="home">首页</a>' in html


def test_home_has_banners_hot_items_and_a_coupon_centre_entry(shop: TestClient) -> None:
    html = shop.get("/shop").text
    assert html.count('class="banner tone-') == len(pages.BANNERS) == 3
    assert "<strong>新品上市</strong>" in html
    assert "<strong>满 ¥99 包邮</strong>" in html
    assert 'id="coupon-entry"' in html
    assert '<a class="coupon-entry" id="coupon-entry" href="/shop/coupons">' in html
    assert "领券下单更划算，满减、折扣、免运费都在这里。" in html
    assert "去领券" in html
    assert _shell(html)["params"] == {"hot": pages.HOT_ITEMS}


def test_english_on_request_and_remembered(shop: TestClient) -> None:
    english = shop.get("/shop/cart?lang=en")
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert "<title>Cart · Siyu Mall</title>" in english.text
    assert "siyu_lang=en" in english.headers["set-cookie"]
    assert _shell(english.text)["messages"]["shop.status.refunding"] == "Refund in progress"  # type: ignore[index]
    # The cookie keeps it English; the switch offers Chinese back.
    again = shop.get("/shop/orders")
    assert '<html lang="en">' in again.text
    assert 'hreflang="zh-CN">中文</a>' in again.text


def test_product_and_category_pages_of_what_is_on_sale(shop: TestClient, session: Session) -> None:
    category = make_category(session, name="面部护理")
    product = make_product(session, name="玻尿酸精华", category_id=category.id)
    make_sku(session, product=product)
    product_page = shop.get(f"/shop/products/{product.id}")
    assert product_page.status_code == 200
    assert "<title>玻尿酸精华 · 私域商城</title>" in product_page.text
    assert "哪些门店有货" in product_page.text
    assert 'id="location-lat"' in product_page.text
    assert _shell(product_page.text)["params"] == {"product_id": product.id}
    category_page = shop.get(f"/shop/category/{category.id}")
    assert category_page.status_code == 200
    assert "<title>面部护理 · 私域商城</title>" in category_page.text
    assert _shell(category_page.text)["params"] == {"category_id": category.id}


@pytest.mark.parametrize(
    "path",
    [
        "/shop/products/999999999",
        "/shop/products/0",
        "/shop/products/abc",
        "/shop/products/%C2%B2",
        "/shop/products/99999999999999999999999",
        "/shop/category/999999999",
        "/shop/category/x",
        "/shop/orders/bad%20id",
        "/shop/pay/" + "p" * 65,
        "/shop/no-such-page",
    ],
)
def test_unknown_pages_are_a_chinese_404_page(shop: TestClient, path: str) -> None:
    response = shop.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>页面不存在 · 私域商城</title>" in response.text
    assert "商品已下架或页面不存在。" in response.text
    assert _shell(response.text)["page"] == "not_found"


@pytest.mark.parametrize(
    ("status", "channels"),
    [
        (ProductStatus.DRAFT, ["mall", "store"]),
        (ProductStatus.OFF, ["mall", "store"]),
        # On sale, but its only SKU is sold in stores alone: nothing to show in the mall.
        (ProductStatus.ON_SALE, ["store"]),
    ],
)
def test_a_product_not_sellable_in_the_mall_is_404(
    shop: TestClient, session: Session, status: ProductStatus, channels: list[str]
) -> None:
    product = make_product(session, name="门店专享套装", status=status)
    make_sku(session, product=product, channels=channels)
    response = shop.get(f"/shop/products/{product.id}")
    assert response.status_code == 404
    assert "门店专享套装" not in response.text


def test_shells_carry_no_personal_data(
    shop: TestClient, session: Session, test_settings: Settings
) -> None:
    cipher = make_cipher()
    customer = make_customer(session, cipher, name="王小美")
    shelf = make_shelf(session)
    order, _lines = place_order(
        session,
        cipher,
        test_settings,
        customer_id=customer.id,
        items=order_items((shelf.skus[0], 1)),
        fulfilment=Fulfilment.DELIVERY,
    )
    raw_token, _record = sessions.create_session(session, customer_id=customer.id, touchpoint="h5")
    headers = {sessions.TOKEN_HEADER: raw_token}
    for path in (f"/shop/orders/{order.public_id}", "/shop/orders", "/shop/checkout", "/shop"):
        html = shop.get(path, headers=headers).text
        for secret in (*ADDRESS.values(), "王小美", raw_token, str(order.total_amount)):
            assert secret not in html, (path, secret)
    assert _shell(shop.get(f"/shop/orders/{order.public_id}").text)["params"] == {
        "public_id": order.public_id
    }


def test_login_explains_the_mini_program_when_demo_login_is_off(shop: TestClient) -> None:
    html = shop.get("/shop/login").text
    assert _shell(html)["demo_login"] is False
    assert 'id="demo-login-form"' not in html
    assert "顾客通过品牌小程序的微信登录进入商城" in html


def test_login_offers_the_demo_sign_in_when_enabled(shop: TestClient, demo_login_on: None) -> None:
    html = shop.get("/shop/login").text
    assert _shell(html)["demo_login"] is True
    assert 'id="demo-login-form"' in html
    assert 'name="shopper" value="demo-shopper"' in html
    assert "请在小程序中登录" not in html


def test_every_page_has_its_module_and_the_static_files_are_served(shop: TestClient) -> None:
    templates = {path.stem for path in pages.TEMPLATES_DIR.glob("*.html")} - {"base"}
    modules = {path.stem for path in STATIC_DIR.glob("*.js")}
    assert templates <= modules
    script = shop.get("/static/shop/core.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert shop.get("/static/shop/shop.css").status_code == 200


def test_shop_messages_match_in_both_languages_and_cover_every_key_in_use() -> None:
    # shop.json holds the shell's messages; each domain's storefront pages keep theirs
    # in shop_<domain>.json. Every file has the same keys in both languages.
    chinese: dict[str, str] = {}
    english: dict[str, str] = {}
    files = sorted(path.name for path in (i18n.LOCALES_DIR / "zh-CN").glob("shop*.json"))
    assert "shop.json" in files
    for name in files:
        zh = json.loads((i18n.LOCALES_DIR / "zh-CN" / name).read_text(encoding="utf-8"))
        en = json.loads((i18n.LOCALES_DIR / "en" / name).read_text(encoding="utf-8"))
        assert set(zh) == set(en), name
        chinese |= zh
        english |= en
    assert all(key.startswith("shop.") for key in chinese)
    assert all(value.strip() for value in [*chinese.values(), *english.values()])

    literal = re.compile(r"""["'`](shop\.[a-z][\w.\-]*\w)(?=["'`])""")
    sources = [
        *pages.TEMPLATES_DIR.glob("*.html"),
        *Path(pages.__file__).parent.glob("*.py"),
        *STATIC_DIR.glob("*.js"),
    ]
    used: set[str] = set()
    for source in sources:
        used |= set(literal.findall(source.read_text(encoding="utf-8")))
    used -= {"shop.token"}  # the localStorage key's prefix, not a message
    # Keys the pages build from API values.
    used |= {f"shop.status.{status.value}" for status in OrderStatus}
    used |= {f"shop.refund_status.{status.value}" for status in RefundStatus}
    used |= {f"shop.stock.{status.value}" for status in StockStatus}
    used |= {f"shop.fulfilment.{kind.value}" for kind in Fulfilment}
    used |= {f"shop.language.{language}" for language in i18n.LANGUAGES}
    assert len(used) > 120
    assert sorted(used - set(chinese)) == []


def test_a_trailing_slash_goes_home(shop: TestClient) -> None:
    response = shop.get("/shop/", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/shop"
