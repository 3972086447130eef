"""In a real browser: create a channel code through the form and see its QR image load."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.campaigns.channel_codes import qr
from tests.e2e.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    LiveServer,
)

pytestmark = pytest.mark.e2e


def test_create_a_code_and_see_its_qr(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url("/console/login"))
    page.fill("input[name=username]", ADMIN_USERNAME)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(live_server.url("/console"))

    page.goto(live_server.url("/console/channel-codes"))
    assert page.locator("#channel-codes-empty").count() == 1
    page.fill("#create-channel-code-form input[name=name]", "门店收银台海报")
    page.select_option("#create-channel-code-form select[name=kind]", "store_poster")
    page.fill("#create-channel-code-form input[name=target_url]", "https://shop.example.com/")
    page.fill("#create-channel-code-form input[name=code]", "store-till")
    page.click("#create-channel-code-form button[type=submit]")

    page.wait_for_url("**/console/channel-codes/*?created=1")
    assert page.locator("h1").inner_text() == "门店收银台海报"
    assert page.locator("#channel-code-short-url").inner_text() == live_server.url("/c/store-till")
    qr_image = page.locator("#channel-code-qr")
    qr_image.wait_for(state="visible")
    page.wait_for_function("document.querySelector('#channel-code-qr').complete")
    natural_width = page.evaluate("document.querySelector('#channel-code-qr').naturalWidth")
    # The image really decoded: segno's symbol for the short URL, 8 px a module.
    assert natural_width == qr.side_in_pixels(live_server.url("/c/store-till"), scale=8)
    assert natural_width > 200
    poster_width = page.evaluate(
        "new Promise(r => { const i = document.querySelector('#channel-code-poster');"
        " i.complete ? r(i.naturalWidth) : i.addEventListener('load', () => r(i.naturalWidth)) })"
    )
    assert poster_width == 750
