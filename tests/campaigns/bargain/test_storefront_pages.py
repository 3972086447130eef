"""The storefront page shells /shop/campaigns/bargain/{id} and /shop/campaigns/assist/{id}:
visible campaigns render with their parameters, others are the shop's 404."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings
from tests.campaigns.assist.factories import make_assist_deal
from tests.campaigns.bargain.factories import make_deal


def test_bargain_and_assist_page_shells(
    api: TestClient, session: Session, settings: Settings, frozen_clock: FrozenClock
) -> None:
    bargain = make_deal(session)
    assist = make_assist_deal(session)
    page = api.get(f"/shop/campaigns/bargain/{bargain.campaign.public_id}?bargain=brg_x1")
    assert page.status_code == 200
    assert "/static/shop/bargain.js" in page.text
    assert '"bargain": "brg_x1"' in page.text
    assert 'id="bg-bar"' in page.text
    shell = api.get(f"/shop/campaigns/assist/{assist.campaign.public_id}")
    assert shell.status_code == 200
    assert "/static/shop/assist.js" in shell.text
    # The wrong kind, a bad parameter and an unknown id are the shop's 404.
    assert api.get(f"/shop/campaigns/assist/{bargain.campaign.public_id}").status_code == 404
    assert (
        api.get(f"/shop/campaigns/bargain/{bargain.campaign.public_id}?bargain=<x>").status_code
        == 404
    )
    assert api.get("/shop/campaigns/bargain/cmp_missing").status_code == 404
    frozen_clock.advance(timedelta(days=4))
    assert api.get(f"/shop/campaigns/bargain/{bargain.campaign.public_id}").status_code == 404
