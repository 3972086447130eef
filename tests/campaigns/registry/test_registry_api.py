"""/api/v1/campaigns and /api/shop/v1/campaigns: shapes, counters, and who may call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.campaigns.registry import counters
from siyu.core.clock import FrozenClock
from siyu.models.campaign import CampaignKind
from siyu.models.staff import Role
from tests.campaigns.registry.factories import make_campaign
from tests.catalog.factories import bearer, customer_headers
from tests.customers.factories import make_cipher

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_list_shows_phase_and_the_mechanics_counters(
    api: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = make_campaign(session, kind=CampaignKind.LOTTERY, starts_in=timedelta(hours=-1))
    make_campaign(session, kind=CampaignKind.BARGAIN)

    def lottery_figures(_session: Session, ids: Sequence[int]) -> dict[int, dict[str, int]]:
        return {campaign_id: {"draws": 7, "cost_amount": 1200} for campaign_id in ids}

    monkeypatch.setitem(counters._providers, CampaignKind.LOTTERY.value, lottery_figures)
    response = api.get("/api/v1/campaigns", headers=bearer(session))
    assert response.status_code == 200, response.text
    items = {item["public_id"]: item for item in response.json()["items"]}
    assert items[live.public_id]["phase"] == "live"
    assert items[live.public_id]["counters"] == {"draws": 7, "cost_amount": 1200}
    bargain = [item for item in items.values() if item["kind"] == "bargain"]
    assert [(item["phase"], item["counters"]) for item in bargain] == [("scheduled", {})]
    only_live = api.get("/api/v1/campaigns?phase=live", headers=bearer(session)).json()["items"]
    assert [item["public_id"] for item in only_live] == [live.public_id]


def test_patch_publish_cancel(api: TestClient, session: Session, frozen_clock: FrozenClock) -> None:
    campaign = make_campaign(session, publish=False)
    headers = bearer(session)
    url = f"/api/v1/campaigns/{campaign.id}"
    patched = api.patch(url, json={"name": "黑五秒杀", "holdout_percent": 10}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["holdout_percent"]) == ("黑五秒杀", 10)
    bad = api.patch(url, json={"touchpoints": ["moon"]}, headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "campaign.invalid")
    unknown = api.patch(url, json={"colour": "red"}, headers=headers)
    assert unknown.status_code == 422
    published = api.post(url + "/publish", headers=headers)
    assert published.json()["status"] == "published"
    twice = api.post(url + "/publish", headers=headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "campaign.invalid_transition")
    frozen_clock.advance(timedelta(days=1, minutes=1))
    locked = api.patch(url, json={"holdout_percent": 20}, headers=headers)
    assert (locked.status_code, locked.json()["code"]) == (409, "campaign.locked")
    assert api.post(url + "/cancel", json={}, headers=headers).status_code == 422
    cancelled = api.post(url + "/cancel", json={"reason": "库存不足"}, headers=headers)
    assert cancelled.json()["phase"] == "cancelled"
    missing = api.get("/api/v1/campaigns/999999999", headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "campaign.not_found")


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("customer", 401), ("analyst", 403), ("operator", 200)],
)
def test_who_may_read_and_change_campaigns(
    api: TestClient, session: Session, who: str, status: int
) -> None:
    campaign = make_campaign(session, publish=False)
    headers = {
        "anonymous": {},
        "customer": customer_headers(session, make_cipher()),
        "analyst": bearer(session, Role.ANALYST),
        "operator": bearer(session, Role.OPERATOR),
    }[who]
    assert api.get("/api/v1/campaigns", headers=headers).status_code == status
    publish = api.post(f"/api/v1/campaigns/{campaign.id}/publish", headers=headers)
    assert publish.status_code == status
    assert (campaign.status == "published") is (status == 200)


def test_the_shop_lists_what_is_on_now_without_internal_fields(
    api: TestClient, session: Session
) -> None:
    live = make_campaign(session, kind=CampaignKind.FLASH_SALE, starts_in=timedelta(hours=-1))
    make_campaign(session, kind=CampaignKind.REFERRAL, starts_in=timedelta(hours=-1))
    make_campaign(
        session, kind=CampaignKind.GROUP_BUY, publish=False, starts_in=timedelta(hours=-1)
    )
    response = api.get("/api/shop/v1/campaigns")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["public_id"] for item in items] == [live.public_id]
    assert items[0]["url"] == f"/shop/campaigns/flash-sale/{live.public_id}"
    assert not {"budget_amount", "holdout_percent", "owner_staff_id"} & set(items[0])
    assert api.get("/api/shop/v1/campaigns?kind=moon").status_code == 422
