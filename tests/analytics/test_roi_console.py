"""Console pages of attribution, campaign ROI and the diagnosis grid (signed in through
the form): who may open them, exports, the 缺失 cells, and the fixed-cost form
(campaigns.manage only, validated, audited)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.campaign import Campaign
from siyu.models.staff import AuditLog, Role
from tests.analytics import campaigns_reference as ref
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

PAGES = (
    "/console/analytics/attribution?model=first_touch&dimension=campaign",
    "/console/analytics/campaigns",
    "/console/analytics/diagnosis",
)


def _campaign(session: Session) -> Campaign:
    now = clock.now()
    return ref.add_campaign(
        session,
        ref.RoiDataset(),
        name="会员日",
        kind="flash_sale",
        starts_at=now - timedelta(days=10),
        ends_at=now - timedelta(days=2),
        holdout_percent=10,
        fixed_cost_amount=1000,
        touchpoints=("mp",),
        lifecycle_stage="retain",
    )


def test_pages_need_analytics_read(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    campaign = _campaign(session)
    for url in (*PAGES, f"/console/analytics/campaigns/{campaign.id}"):
        assert api.get(url, follow_redirects=False).status_code in (302, 303), url
    guide = make_staff(session, roles=[Role.GUIDE])
    sign_in(api, guide.username, DEFAULT_PASSWORD)
    for url in (*PAGES, f"/console/analytics/campaigns/{campaign.id}"):
        assert api.get(url).status_code == 403, url


def test_analyst_reads_and_exports_but_cannot_set_costs(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    campaign = _campaign(session)
    analyst = make_staff(session, roles=[Role.ANALYST])
    token = sign_in(api, analyst.username, DEFAULT_PASSWORD)
    for url in PAGES:
        response = api.get(url)
        assert response.status_code == 200, (url, response.text)
    listing = api.get(PAGES[1])
    assert f'data-campaign="{campaign.id}"' in listing.text
    grid = api.get(PAGES[2])
    assert grid.text.count('data-missing="true"') == 29  # mp × retain is worked
    assert 'data-cell="mp:retain" data-missing="false"' in grid.text
    assert "缺失" in grid.text
    download = api.get(f"{PAGES[2]}?format=csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["触点", "阶段"]
    assert len(rows) == 31
    detail = api.get(f"/console/analytics/campaigns/{campaign.id}")
    assert detail.status_code == 200
    assert 'id="roi-fixed-cost-form"' not in detail.text
    refused = api.post(
        f"/console/analytics/campaigns/{campaign.id}/fixed-cost",
        data={"fixed_cost_yuan": "5", "csrf_token": token},
    )
    assert refused.status_code == 403
    session.refresh(campaign)
    assert campaign.fixed_cost_amount == 1000
    assert api.get("/console/analytics/campaigns/999999").status_code == 404
    assert api.get(f"{PAGES[0]}&model=linear").status_code == 400


def test_operator_sets_the_fixed_cost(
    api: TestClient, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    campaign = _campaign(session)
    operator = make_staff(session, roles=[Role.OPERATOR])
    token = sign_in(api, operator.username, DEFAULT_PASSWORD)
    url = f"/console/analytics/campaigns/{campaign.id}"
    page = api.get(url)
    assert 'id="roi-fixed-cost-form"' in page.text
    assert 'value="10.00"' in page.text
    bad = api.post(f"{url}/fixed-cost", data={"fixed_cost_yuan": "-1", "csrf_token": token})
    assert bad.status_code == 422
    assert "请输入不小于 0 的金额" in bad.text
    session.refresh(campaign)
    assert campaign.fixed_cost_amount == 1000
    done = api.post(
        f"{url}/fixed-cost",
        data={"fixed_cost_yuan": "12.5", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.refresh(campaign)
    assert campaign.fixed_cost_amount == 1250
    entry = session.scalars(
        select(AuditLog).where(AuditLog.action == "campaign.fixed_cost_set")
    ).one()
    assert entry.detail == {"fixed_cost_amount": 1250, "previous": 1000}
    shown = api.get(done.headers["location"])
    assert "固定成本已保存" in shown.text
