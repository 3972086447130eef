"""In a real browser: create a product with two SKUs in the console (the second row
added by htmx), put it on sale, and see the storefront API offer it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def catalog_server(live_server: LiveServer) -> LiveServer:
    """The shared live server: the app serves the catalog."""
    return live_server


def test_create_a_product_with_two_skus(page: Any, catalog_server: LiveServer) -> None:
    server = catalog_server
    page.goto(server.url("/console/login"))
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(server.url("/console"))

    page.goto(server.url("/console/catalog"))
    page.click("#new-product")
    page.wait_for_url("**/console/catalog/products/new")
    form = page.locator("#product-form")
    form.locator("input[name=code]").fill("E2E-LIP")
    form.locator("input[name=name]").fill("浏览器口红")
    form.locator("input[name=spec_names]").fill("颜色")
    rows = page.locator("#sku-rows tr.sku-row")
    assert rows.count() == 1
    page.click("#add-sku-row")
    rows.nth(1).wait_for(state="attached")
    assert rows.count() == 2
    for index, (code, colour, list_price, sale_price) in enumerate(
        [("E2E-LIP-RED", "正红", "299", "259.9"), ("E2E-LIP-NUDE", "裸色", "299", "239")]
    ):
        row = rows.nth(index)
        row.locator("input[name=sku_code]").fill(code)
        row.locator("input[name=sku_specs]").fill(colour)
        row.locator("input[name=sku_list_price]").fill(list_price)
        row.locator("input[name=sku_sale_price]").fill(sale_price)
    page.click("#save-product")

    page.wait_for_url("**/console/catalog/products/*?created=1")
    assert page.locator("h1").inner_text() == "浏览器口红"
    saved = page.locator("#sku-rows tr[data-sku-id]")
    assert saved.count() == 2
    assert saved.nth(0).locator("input[name=sku_sale_price]").input_value() == "259.90"
    assert saved.nth(1).locator("input[name=sku_specs]").input_value() == "裸色"

    page.click("#status-on_sale")
    page.wait_for_url("**/console/catalog/products/*?saved=1")
    assert page.locator("#product-status").inner_text() == "在售"

    listed = page.request.get(server.url("/api/shop/v1/products?q=浏览器")).json()
    assert [(card["name"], card["price_from"]) for card in listed["items"]] == [
        ("浏览器口红", 23900)
    ]
