"""The operator members API: program, tiers, member card, ledger, adjustments, tasks."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.members import points
from siyu.models.member import GrowthEntry, MemberProgram, Membership, MemberTier, TierChange
from siyu.models.staff import AuditLog
from siyu.staff.permissions import Role
from tests.catalog.factories import bearer, customer_headers
from tests.members.factories import (
    entry_count,
    make_ladder,
    make_member,
    membership,
    payloads,
)

pytestmark = pytest.mark.usefixtures("settings")

BASE = "/api/v1/members"


def _actions(session: Session) -> list[str]:
    rows = session.scalars(select(AuditLog.action).order_by(AuditLog.id))
    return [action for action in rows if action.startswith(("members.", "points."))]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/program"),
        ("put", "/program"),
        ("get", "/tiers"),
        ("post", "/tiers"),
        ("get", "/audit"),
        ("get", "/{cid}"),
        ("get", "/{cid}/points"),
        ("post", "/{cid}/growth-tasks"),
        ("put", "/{cid}/tier"),
        ("post", "/{cid}/points/adjustments"),
    ],
)
def test_authorization_matrix(
    api: TestClient, session: Session, cipher: PiiCipher, method: str, path: str
) -> None:
    customer_id = make_member(session, cipher)
    url = BASE + path.format(cid=customer_id)
    body: dict[str, Any] = {"amount": 1, "reason": "x"} if "adjust" in path else {}
    assert api.request(method.upper(), url, json=body).status_code == 401
    shopper = customer_headers(session, cipher)
    assert api.request(method.upper(), url, json=body, headers=shopper).status_code == 401
    analyst = bearer(session, Role.GUIDE)
    assert api.request(method.upper(), url, json=body, headers=analyst).status_code == 403
    operator = bearer(session, Role.OPERATOR)
    allowed = api.request(method.upper(), url, json=body, headers=operator).status_code
    if "adjust" in path:
        # Manual adjustments are for admins (points.adjust), not operators.
        assert allowed == 403
        admin = bearer(session, Role.ADMIN)
        assert api.request(method.upper(), url, json=body, headers=admin).status_code == 201
    else:
        assert allowed not in (401, 403)


def test_program_defaults_update_and_validation(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    got = api.get(f"{BASE}/program", headers=headers).json()
    assert got["points_value"] == 100
    assert got["spend_cap_percent"] == 20
    assert got["expiry_policy"] == "end_of_next_year"
    assert got["refund_policy"] == {"reverse_earned": True, "return_spent": True}
    assert got["member_day"]["day_of_month"] == 8
    bad = api.put(f"{BASE}/program", json={**got, "spend_cap_percent": 101}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "member_program.invalid"
    unknown = api.put(f"{BASE}/program", json={**got, "bonus": 1}, headers=headers)
    assert unknown.status_code == 422
    assert session.get(MemberProgram, 1) is None
    assert _actions(session) == []
    saved = api.put(
        f"{BASE}/program",
        json={**got, "points_per_yuan": 2, "member_day": {**got["member_day"], "enabled": True}},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert api.get(f"{BASE}/program", headers=headers).json()["points_per_yuan"] == 2
    row = session.get(MemberProgram, 1)
    assert row is not None
    assert row.config["member_day"]["enabled"] is True
    assert _actions(session) == ["members.program.update"]


def _tier(code: str, rank: int, threshold: int, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name": code, "rank": rank, "growth_threshold": threshold, **extra}


def test_tier_crud_keeps_the_ladder_valid(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    first = api.post(f"{BASE}/tiers", json=_tier("silver", 1, 500), headers=headers)
    assert first.status_code == 422
    assert first.json()["code"] == "member_tier.invalid_ladder"
    base = api.post(f"{BASE}/tiers", json=_tier("normal", 0, 0), headers=headers)
    assert base.status_code == 201
    silver = api.post(
        f"{BASE}/tiers", json=_tier("silver", 1, 1000, discount_rate=9800), headers=headers
    ).json()
    lower = api.post(f"{BASE}/tiers", json=_tier("gold", 2, 800), headers=headers)
    assert lower.status_code == 422
    duplicate = api.post(f"{BASE}/tiers", json=_tier("silver", 5, 9000), headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "member_tier.duplicate"
    patch = api.patch(f"{BASE}/tiers/{silver['id']}", json={"growth_threshold": 0}, headers=headers)
    assert patch.status_code in (409, 422)
    assert session.get(MemberTier, silver["id"]).growth_threshold == 1000  # type: ignore[union-attr]
    ok = api.patch(f"{BASE}/tiers/{silver['id']}", json={"name": "银卡会员"}, headers=headers)
    assert ok.json()["name"] == "银卡会员"
    listed = api.get(f"{BASE}/tiers", headers=headers).json()["items"]
    assert [(t["code"], t["rank"], t["growth_threshold"]) for t in listed] == [
        ("normal", 0, 0),
        ("silver", 1, 1000),
    ]
    assert _actions(session) == [
        "members.tier.create",
        "members.tier.create",
        "members.tier.update",
    ]
    assert api.delete(f"{BASE}/tiers/{silver['id']}", headers=headers).status_code == 204
    assert api.delete(f"{BASE}/tiers/999999", headers=headers).status_code == 404


def test_deleting_a_tier_in_use_is_409(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    tiers = make_ladder(session)
    make_member(session, cipher)
    headers = bearer(session, Role.OPERATOR)
    response = api.delete(f"{BASE}/tiers/{tiers['normal'].id}", headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "member_tier.in_use"
    assert session.get(MemberTier, tiers["normal"].id) is not None


def test_member_card_ledger_pages_and_adjustments(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    make_ladder(session)
    customer_id = make_member(session, cipher, points_balance=100)
    admin = bearer(session, Role.ADMIN)
    for number in range(3):
        response = api.post(
            f"{BASE}/{customer_id}/points/adjustments",
            json={"amount": 10 + number, "reason": f"补偿 {number}"},
            headers=admin,
        )
        assert response.status_code == 201, response.text
    card = api.get(f"{BASE}/{customer_id}", headers=admin).json()
    assert card["points_available"] == 133
    assert card["tier"]["code"] == "normal"
    assert card["next_tier"]["code"] == "silver"
    assert card["growth_to_next"] == 1000
    assert [c["reason"] for c in card["tier_changes"]] == ["join"]
    page = api.get(f"{BASE}/{customer_id}/points?limit=2", headers=admin).json()
    assert [e["amount"] for e in page["items"]] == [12, 11]
    assert page["available"] == 133
    rest = api.get(
        f"{BASE}/{customer_id}/points?limit=2&cursor={page['next_cursor']}", headers=admin
    ).json()
    assert [e["amount"] for e in rest["items"]] == [10, 100]
    assert rest["next_cursor"] is None


def test_refused_adjustments_change_nothing(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher, points_balance=50)
    admin = bearer(session, Role.ADMIN)
    before = entry_count(session)
    url = f"{BASE}/{customer_id}/points/adjustments"
    cases = [
        ({"amount": 10, "reason": " "}, 422, "points.reason_required"),
        ({"amount": 10}, 422, "points.reason_required"),
        ({"amount": 0, "reason": "x"}, 422, "points.invalid_amount"),
        ({"amount": -51, "reason": "x"}, 409, "points.insufficient"),
    ]
    for body, status, code in cases:
        response = api.post(url, json=body, headers=admin)
        assert (response.status_code, response.json()["code"]) == (status, code)
    missing = api.post(f"{BASE}/999999/points/adjustments", json=cases[0][0], headers=admin)
    assert missing.status_code == 404
    assert entry_count(session) == before
    assert points.balance(session, customer_id) == (50, 0)
    assert _actions(session) == []


def test_growth_tasks_are_rewarded_once(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    tiers = make_ladder(session)
    customer_id = make_member(session, cipher)
    headers = bearer(session, Role.OPERATOR)
    url = f"{BASE}/{customer_id}/growth-tasks"
    done = api.post(url, json={"task": "complete_profile"}, headers=headers)
    assert done.status_code == 201
    assert done.json() == {
        "task": "complete_profile",
        "growth": 50,
        "growth_value": 50,
    }
    again = api.post(url, json={"task": "complete_profile"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "growth.task_done"
    unknown = api.post(url, json={"task": "dance"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "growth.unknown_task"
    assert membership(session, customer_id).growth_value == 50
    assert session.scalars(select(GrowthEntry.reference)).all() == ["task:complete_profile"]
    assert membership(session, customer_id).tier_id == tiers["normal"].id


def test_operator_sets_a_tier_by_hand_with_a_reason(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    tiers = make_ladder(session)
    customer_id = make_member(session, cipher)
    headers = bearer(session, Role.OPERATOR)
    url = f"{BASE}/{customer_id}/tier"
    refused = api.put(url, json={"tier_id": tiers["gold"].id, "reason": ""}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "member_tier.reason_required"
    assert membership(session, customer_id).tier_id == tiers["normal"].id
    response = api.put(url, json={"tier_id": tiers["gold"].id, "reason": "VIP"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["tier"]["code"] == "gold"
    reasons = session.scalars(
        select(TierChange.reason).where(TierChange.customer_id == customer_id)
    ).all()
    assert reasons == ["join", "adjust"]
    assert [p["reason"] for p in payloads(session, "member.tier_changed")] == ["adjust"]
    assert _actions(session) == ["members.tier.set"]


def test_audit_endpoint_reports_ok_and_mismatches(
    api: TestClient, session: Session, cipher: PiiCipher
) -> None:
    customer_id = make_member(session, cipher, points_balance=10)
    headers = bearer(session, Role.OPERATOR)
    assert api.get(f"{BASE}/audit", headers=headers).json() == {
        "ok": True,
        "memberships": 1,
        "mismatches": [],
    }
    session.get_one(Membership, customer_id).growth_value = 7
    session.flush()
    report = api.get(f"{BASE}/audit", headers=headers).json()
    assert report["ok"] is False
    assert report["mismatches"] == [
        {"customer_id": customer_id, "check": "growth_value", "ledger": 0, "balance": 7}
    ]
