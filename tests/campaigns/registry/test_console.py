"""The console's campaign list: phases, counters, filters, publish and cancel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.campaigns.registry import counters
from siyu.models.campaign import CampaignKind, CampaignStatus
from siyu.models.staff import Role
from tests.campaigns.registry.factories import make_campaign
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _sign_in(api: TestClient, session: Session, role: Role = Role.OPERATOR) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_the_list_shows_every_mechanic_with_phase_and_counters(
    api: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = make_campaign(
        session, kind=CampaignKind.FLASH_SALE, name="双十一秒杀", starts_in=timedelta(hours=-2)
    )
    draft = make_campaign(session, kind=CampaignKind.GROUP_BUY, name="三人团", publish=False)

    def sold(_session: Session, ids: Sequence[int]) -> dict[int, dict[str, int]]:
        return {campaign_id: {"sold": 42, "gmv_amount": 123456} for campaign_id in ids}

    monkeypatch.setitem(counters._providers, CampaignKind.FLASH_SALE.value, sold)
    _sign_in(api, session)
    page = api.get("/console/campaigns")
    assert page.status_code == 200
    assert "双十一秒杀" in page.text
    assert "进行中" in page.text
    assert "¥1234.56" in page.text
    assert f'href="/console/campaigns/flash-sale/{live.public_id}"' in page.text
    assert f'data-campaign="{draft.public_id}" data-phase="draft"' in page.text
    assert 'href="/console/campaigns/bargain/new"' in page.text
    filtered = api.get("/console/campaigns/table?kind=group_buy")
    assert "三人团" in filtered.text
    assert "双十一秒杀" not in filtered.text
    english = api.get("/console/campaigns?lang=en")
    assert "Live" in english.text


def test_publish_then_cancel_from_the_list(api: TestClient, session: Session) -> None:
    campaign = make_campaign(session, publish=False)
    token = _sign_in(api, session)
    published = api.post(
        f"/console/campaigns/{campaign.id}/publish",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert published.status_code == 303
    assert campaign.status == CampaignStatus.PUBLISHED
    again = api.post(f"/console/campaigns/{campaign.id}/publish", data={"csrf_token": token})
    assert again.status_code == 409
    assert "活动当前状态不允许这个操作" in again.text
    cancelled = api.post(
        f"/console/campaigns/{campaign.id}/cancel",
        data={"csrf_token": token, "reason": ""},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    assert campaign.status == CampaignStatus.CANCELLED


def test_staff_without_the_permission_cannot_open_it(api: TestClient, session: Session) -> None:
    campaign = make_campaign(session, publish=False)
    token = _sign_in(api, session, Role.ANALYST)
    assert api.get("/console/campaigns").status_code == 403
    refused = api.post(f"/console/campaigns/{campaign.id}/publish", data={"csrf_token": token})
    assert refused.status_code == 403
    assert campaign.status == CampaignStatus.DRAFT
