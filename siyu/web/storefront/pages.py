"""Page shells of the H5 storefront at /shop.

Each route renders a shell: the layout, the page's Chinese-first messages and a few
parameters as a JSON blob, and the page's ES module under /static/shop/. Everything a
customer sees about goods, carts and orders is fetched by that module from
/api/shop/v1 with the customer's session token, exactly as a mini program would, so
the shells carry no customer data and no business rules. The server reads the
database only to answer "no such product / category" with a real 404 page.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from siyu.catalog import storefront
from siyu.catalog.errors import CatalogNotFound
from siyu.core.http import SessionDep
from siyu.web.console.rendering import language_links, remember_language
from siyu.web.i18n import LANGUAGE_COOKIE, LANGUAGE_QUERY, Translator, catalog, pick_language

router = APIRouter(prefix="/shop")

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MESSAGE_PREFIX = "shop."
TOKEN_STORAGE_KEY = "siyu.shop.token"
DEFAULT_SHOPPER = "demo-shopper"
HOT_ITEMS = 6

# Scripts and API calls stay on this origin; product images are URLs on the brand's
# image host, hence any https image.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Banner:
    """One slide of the home page's banner strip; texts are message keys."""

    title_key: str
    text_key: str
    href: str
    tone: str


# The home page's banners: a small config the brand edits here (images are optional;
# a banner without one is a coloured card).
BANNERS: tuple[Banner, ...] = (
    Banner("shop.banner.new.title", "shop.banner.new.text", "/shop/categories", "rose"),
    Banner("shop.banner.pickup.title", "shop.banner.pickup.text", "/shop/categories", "teal"),
    Banner("shop.banner.shipping.title", "shop.banner.shipping.text", "/shop/cart", "amber"),
)


@dataclass(frozen=True)
class Tab:
    key: str
    href: str
    label_key: str


TABS: tuple[Tab, ...] = (
    Tab("home", "/shop", "shop.tab.home"),
    Tab("categories", "/shop/categories", "shop.tab.categories"),
    Tab("cart", "/shop/cart", "shop.tab.cart"),
    Tab("orders", "/shop/orders", "shop.tab.orders"),
    Tab("member", "/shop/member", "shop.tab.member"),
)


def _build_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


environment = _build_environment()


def request_translator(request: Request) -> Translator:
    return Translator(
        pick_language(
            request.query_params.get(LANGUAGE_QUERY), request.cookies.get(LANGUAGE_COOKIE)
        )
    )


def page_messages(language: str) -> dict[str, str]:
    """The storefront's own messages (``shop.*``) in ``language``, Chinese filling gaps."""
    chinese = catalog("zh-CN")
    chosen = catalog(language)
    return {
        key: chosen.get(key, value)
        for key, value in chinese.items()
        if key.startswith(MESSAGE_PREFIX)
    }


def render(
    request: Request,
    *,
    page: str,
    title_key: str,
    tab: str = "",
    params: dict[str, Any] | None = None,
    title: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page shell: the layout, then ``/static/shop/<page>.js`` fills it from the API."""
    t = request_translator(request)
    settings = request.app.state.settings
    shell = {
        "page": page,
        "lang": t.language,
        "timezone": settings.timezone,
        "demo_login": bool(settings.shop_demo_login),
        "default_shopper": DEFAULT_SHOPPER,
        "token_key": TOKEN_STORAGE_KEY,
        "messages": page_messages(t.language),
        "params": params or {},
    }
    body = environment.get_template(f"{page}.html").render(
        t=t,
        lang=t.language,
        page=page,
        tab=tab,
        tabs=TABS,
        title=title or t(title_key),
        shell=shell,
        banners=[asdict(banner) for banner in BANNERS],
        demo_login=shell["demo_login"],
        default_shopper=DEFAULT_SHOPPER,
        language_links=language_links(request),
        **(params or {}),
    )
    response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
    remember_language(request, response, t)
    return response


def not_found(request: Request) -> HTMLResponse:
    return render(request, page="not_found", title_key="shop.not_found.title", status=404)


def _positive_id(raw: str) -> int | None:
    # Ids arrive as path text so that "/shop/products/abc" is the shop's 404 page,
    # not the API's validation JSON.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    value = int(raw)
    return value if value > 0 else None


_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(
        request, page="home", title_key="shop.home.title", tab="home", params={"hot": HOT_ITEMS}
    )


@router.get("/categories", response_class=HTMLResponse)
def categories(request: Request) -> HTMLResponse:
    return render(
        request,
        page="category",
        title_key="shop.category.title",
        tab="categories",
        params={"category_id": None},
    )


@router.get("/category/{category_id}", response_class=HTMLResponse)
def category(category_id: str, request: Request, session: SessionDep) -> HTMLResponse:
    wanted = _positive_id(category_id)
    shown = storefront.shop_categories(session).items
    match = next((item for item in shown if item.id == wanted), None)
    if match is None:
        return not_found(request)
    return render(
        request,
        page="category",
        title_key="shop.category.title",
        tab="categories",
        title=match.name,
        params={"category_id": match.id},
    )


@router.get("/products/{product_id}", response_class=HTMLResponse)
def product(product_id: str, request: Request, session: SessionDep) -> HTMLResponse:
    wanted = _positive_id(product_id)
    if wanted is None:
        return not_found(request)
    try:
        # The same visibility rule as the API: draft, off-sale or unsellable is 404.
        detail = storefront.product_detail(session, wanted)
    except CatalogNotFound:
        return not_found(request)
    return render(
        request,
        page="product",
        title_key="shop.product.title",
        title=detail.name,
        params={"product_id": detail.id},
    )


@router.get("/cart", response_class=HTMLResponse)
def cart(request: Request) -> HTMLResponse:
    return render(request, page="cart", title_key="shop.cart.title", tab="cart")


@router.get("/checkout", response_class=HTMLResponse)
def checkout(request: Request) -> HTMLResponse:
    return render(request, page="checkout", title_key="shop.checkout.title")


@router.get("/pay/{payment_id}", response_class=HTMLResponse)
def pay(payment_id: str, request: Request) -> HTMLResponse:
    if not _PUBLIC_ID.match(payment_id):
        return not_found(request)
    return render(
        request, page="pay", title_key="shop.pay.title", params={"payment_id": payment_id}
    )


@router.get("/orders", response_class=HTMLResponse)
def orders(request: Request) -> HTMLResponse:
    return render(request, page="orders", title_key="shop.orders.title", tab="orders")


@router.get("/orders/{public_id}", response_class=HTMLResponse)
def order(public_id: str, request: Request) -> HTMLResponse:
    if not _PUBLIC_ID.match(public_id):
        return not_found(request)
    return render(
        request, page="order", title_key="shop.order.title", params={"public_id": public_id}
    )


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    return render(request, page="login", title_key="shop.login.title")


# Included after every other storefront router (``siyu.web.storefront``).
fallback_router = APIRouter(prefix="/shop")


@fallback_router.get("/{unknown:path}", response_class=HTMLResponse)
def unknown_page(unknown: str, request: Request) -> Response:
    if unknown == "":
        return RedirectResponse("/shop", status_code=308)
    return not_found(request)
