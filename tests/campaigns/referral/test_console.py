"""The referral console: programmes, monitor, settings and rules, promoter review and
withdrawal review (payout only with ``referral.payout``)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.campaigns.referral import accounts, withdrawals
from siyu.campaigns.referral.accounts import Deltas
from siyu.core.crypto import PiiCipher
from siyu.models.referral import LedgerKind, ReferralWithdrawal
from siyu.models.staff import Role
from tests.campaigns.referral.factories import make_programme, make_promoter
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in


def _sign_in(api: TestClient, session: Session, role: Role = Role.OPERATOR) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_create_and_monitor_a_programme(api: TestClient, session: Session) -> None:
    token = _sign_in(api, session)
    assert "还没有分销计划" in api.get("/console/campaigns/referral").text
    assert api.get("/console/campaigns/referral/new").status_code == 200
    created = api.post(
        "/console/campaigns/referral/new",
        data={
            "csrf_token": token,
            "name": "全民分销",
            "lifecycle_stage": "refer",
            "starts_at": "2026-01-01T00:00",
            "ends_at": "2036-01-01T00:00",
            "bind_rule": "first",
            "bind_days": "10",
            "min_withdrawal": "5",
            "level1_rate": "600",
            "level2_rate": "100",
            "second_level_enabled": "1",
            "publish": "1",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    monitor = api.get(created.headers["location"])
    assert monitor.status_code == 200
    assert "分销计划已创建" in monitor.text
    assert 'data-counter="attributed_orders"' in monitor.text
    assert "6.00%" in monitor.text
    public_id = created.headers["location"].split("/")[-1].split("?")[0]
    live = api.get(f"/console/campaigns/referral/{public_id}/live")
    assert 'id="referral-counters"' in live.text
    saved = api.post(
        f"/console/campaigns/referral/{public_id}/settings",
        data={"csrf_token": token, "bind_rule": "last", "bind_days": "20", "min_withdrawal": "2"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    rule = api.post(
        f"/console/campaigns/referral/{public_id}/rules",
        data={"csrf_token": token, "scope": "product", "target_id": "999999", "level1_value": "1"},
    )
    assert rule.status_code == 422
    assert "佣金规则无效" in rule.text
    bad = api.post(
        "/console/campaigns/referral/new",
        data={"csrf_token": token, "name": "", "lifecycle_stage": "refer"},
    )
    assert bad.status_code == 422


def test_review_promoters_and_withdrawals(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    make_programme(session, auto_approve=False)
    pending = make_promoter(session, cipher)
    token = _sign_in(api, session)
    listing = api.get("/console/campaigns/referral/promoters")
    assert f'data-promoter="{pending.public_id}" data-status="pending"' in listing.text
    approved = api.post(
        f"/console/campaigns/referral/promoters/{pending.public_id}/approve",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    session.refresh(pending)
    assert pending.status == "active"
    accounts.move(session, pending.id, LedgerKind.COMMISSION, "c", Deltas(frozen=3000))
    accounts.move(
        session, pending.id, LedgerKind.SETTLE, "s", Deltas(frozen=-3000, withdrawable=3000)
    )
    withdrawal = withdrawals.request(session, pending, 2000)
    page = api.get("/console/campaigns/referral/withdrawals")
    assert "referral.payout" in page.text  # operators see why they cannot pay
    refused = api.post(
        f"/console/campaigns/referral/withdrawals/{withdrawal.public_id}/approve",
        data={"csrf_token": token},
    )
    assert refused.status_code == 403
    session.refresh(withdrawal)
    assert withdrawal.status == "requested"

    api.cookies.clear()
    admin_token = _sign_in(api, session, Role.ADMIN)
    for action, data in (("approve", {}), ("pay", {"payout_reference": "WX9"})):
        moved = api.post(
            f"/console/campaigns/referral/withdrawals/{withdrawal.public_id}/{action}",
            data={"csrf_token": admin_token, **data},
            follow_redirects=False,
        )
        assert moved.status_code == 303, moved.text
    row = session.get(ReferralWithdrawal, withdrawal.id, populate_existing=True)
    assert row is not None
    assert (row.status, row.payout_reference) == ("paid", "WX9")
    assert "已打款" in api.get("/console/campaigns/referral/withdrawals").text
    assert "还没有佣金" in api.get("/console/campaigns/referral/commissions").text


def test_console_needs_campaigns_manage(api: TestClient, session: Session) -> None:
    _sign_in(api, session, Role.ANALYST)
    for url in (
        "/console/campaigns/referral",
        "/console/campaigns/referral/promoters",
        "/console/campaigns/referral/withdrawals",
    ):
        assert api.get(url).status_code == 403, url
