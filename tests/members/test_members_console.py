"""Console pages for members, signed in through the real form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.members import points
from siyu.models.member import MemberProgram, MemberTier
from siyu.models.staff import Role
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.members.factories import make_member, membership
from tests.web.console_helpers import sign_in

pytestmark = pytest.mark.usefixtures("settings")


def _sign_in(api: TestClient, session: Session, role: Role) -> str:
    staff = make_staff(session, roles=[role])
    return sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_build_a_ladder_through_the_form(api: TestClient, session: Session) -> None:
    token = _sign_in(api, session, Role.OPERATOR)
    home = api.get("/console/members")
    assert home.status_code == 200
    assert 'id="tiers-empty"' in home.text
    base = {"csrf_token": token, "code": "normal", "name": "普通会员", "rank": "0"}
    created = api.post(
        "/console/members/tiers",
        data={**base, "growth_threshold": "0"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    bad = api.post(
        "/console/members/tiers",
        data={**base, "code": "gold", "name": "金卡", "rank": "2", "growth_threshold": "0"},
    )
    assert bad.status_code == 409
    assert 'id="tier-error"' in bad.text
    gold = api.post(
        "/console/members/tiers",
        data={
            **base,
            "code": "gold",
            "name": "金卡",
            "rank": "2",
            "growth_threshold": "5000",
            "discount_rate": "9500",
            "free_shipping_yuan": "49",
        },
        follow_redirects=False,
    )
    assert gold.status_code == 303
    tiers = session.scalars(select(MemberTier).order_by(MemberTier.rank)).all()
    assert [(t.code, t.discount_rate, t.free_shipping_threshold) for t in tiers] == [
        ("normal", 10000, None),
        ("gold", 9500, 4900),
    ]
    listed = api.get("/console/members")
    assert "9.5折" in listed.text
    assert "¥49.00" in listed.text


def test_program_form_saves_the_rules(api: TestClient, session: Session) -> None:
    token = _sign_in(api, session, Role.OPERATOR)
    page = api.get("/console/members/program")
    assert page.status_code == 200
    assert 'name="member_day__day_of_month"' in page.text
    invalid = api.post(
        "/console/members/program",
        data={"csrf_token": token, "spend_cap_percent": "150"},
    )
    assert invalid.status_code == 422
    assert "spend_cap_percent" in invalid.text
    assert session.get(MemberProgram, 1) is None
    saved = api.post(
        "/console/members/program",
        data={
            "csrf_token": token,
            "points_per_yuan": "2",
            "expiry_policy": "never",
            "member_day__enabled": "on",
            "member_day__day_of_month": "18",
            "refund_policy__return_spent": "on",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    row = session.get(MemberProgram, 1)
    assert row is not None
    assert row.config["points_per_yuan"] == 2
    assert row.config["expiry_policy"] == "never"
    assert row.config["member_day"]["enabled"] is True
    assert row.config["member_day"]["day_of_month"] == 18
    # An unticked box is off.
    assert row.config["refund_policy"] == {"reverse_earned": False, "return_spent": True}


def test_member_card_and_adjustment_need_the_permission(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher, points_balance=120)
    token = _sign_in(api, session, Role.OPERATOR)
    card = api.get(f"/console/members/{customer_id}")
    assert card.status_code == 200
    assert 'data-fact="points">120<' in card.text
    assert 'id="adjust-form"' not in card.text
    refused = api.post(
        f"/console/members/{customer_id}/adjust",
        data={"csrf_token": token, "amount": "10", "reason": "x"},
    )
    assert refused.status_code == 403
    assert points.balance(session, customer_id) == (120, 0)


def test_admin_adjusts_points_with_a_reason(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher, points_balance=120)
    token = _sign_in(api, session, Role.ADMIN)
    url = f"/console/members/{customer_id}/adjust"
    missing = api.post(url, data={"csrf_token": token, "amount": "10", "reason": ""})
    assert missing.status_code == 422
    assert "请填写调整原因" in missing.text
    too_much = api.post(url, data={"csrf_token": token, "amount": "-121", "reason": "x"})
    assert too_much.status_code == 409
    assert points.balance(session, customer_id) == (120, 0)
    done = api.post(
        url,
        data={"csrf_token": token, "amount": "-20", "reason": "重复发放"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert points.balance(session, customer_id) == (100, 0)
    card = api.get(f"/console/members/{customer_id}?done=adjusted")
    assert "积分已调整" in card.text
    assert "重复发放" in card.text
    audit = api.get("/console/members/audit")
    assert 'id="audit-ok"' in audit.text
    assert membership(session, customer_id).points_balance == 100
