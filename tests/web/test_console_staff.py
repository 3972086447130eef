"""Console staff management and the audit viewer: forms, htmx row actions, denial."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import security
from siyu.core.clock import FrozenClock
from siyu.models.staff import AuditLog, Role, Staff
from siyu.staff import service as staff_service
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import audit_count, sign_in, staff_count

HTMX = {"HX-Request": "true"}


def new_member(token: str, **overrides: object) -> dict[str, object]:
    return {
        "csrf_token": token,
        "username": "li.lei",
        "display_name": "李雷",
        "password": "li-lei-password",
        "roles": ["operator", "analyst"],
        "language": "en",
        **overrides,
    }


def admin_signed_in(api: TestClient, session: Session) -> tuple[Staff, str]:
    admin = make_staff(session, username="boss", roles=[Role.ADMIN])
    return admin, sign_in(api, "boss", DEFAULT_PASSWORD)


def test_staff_page_lists_members_escaped(api: TestClient, session: Session) -> None:
    _admin, _token = admin_signed_in(api, session)
    other = make_staff(session, username="mallory", roles=[Role.GUIDE])
    other.display_name = "<img src=x onerror=alert(1)>"
    session.flush()
    page = api.get("/console/staff")
    assert page.status_code == 200
    assert f'id="staff-{other.id}"' in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<img src=x" not in page.text


def test_create_through_the_form_redirects_and_audits(api: TestClient, session: Session) -> None:
    _admin, token = admin_signed_in(api, session)
    response = api.post("/console/staff", data=new_member(token), follow_redirects=False)

    assert response.status_code == 303
    created = staff_service.find_by_username(session, "li.lei")
    assert created is not None
    assert response.headers["location"] == f"/console/staff?created={created.id}"
    assert created.display_name == "李雷"
    assert created.language == "en"
    assert sorted(link.role for link in created.roles) == ["analyst", "operator"]
    assert security.verify_password(created.password_hash, "li-lei-password")
    entry = session.scalars(
        select(AuditLog).where(AuditLog.action == "staff.create", AuditLog.actor == "boss")
    ).one()
    assert entry.target_id == str(created.id)

    page = api.get(response.headers["location"])
    assert "已创建员工账号 li.lei" in page.text
    assert 'data-username="li.lei"' in page.text


def test_create_without_the_csrf_token_writes_nothing(api: TestClient, session: Session) -> None:
    _admin, token = admin_signed_in(api, session)
    before = staff_count(session), audit_count(session)
    for forged in [{"csrf_token": ""}, {"csrf_token": "forged"}]:
        response = api.post("/console/staff", data=new_member(token, **forged))
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "表单已过期或并非来自本站" in response.text
    assert (staff_count(session), audit_count(session)) == before


def test_duplicate_username_shows_inline_and_keeps_the_values(
    api: TestClient, session: Session
) -> None:
    _admin, token = admin_signed_in(api, session)
    before = staff_count(session), audit_count(session)
    response = api.post("/console/staff", data=new_member(token, username="BOSS"))

    assert response.status_code == 409
    assert re.search(
        r'<p class="field-error" id="error-username">用户名已被占用</p>', response.text
    )
    assert 'name="username" value="BOSS"' in response.text
    assert 'name="display_name" value="李雷"' in response.text
    assert 'value="operator" checked' in response.text
    assert 'value="guide" checked' not in response.text
    assert '<option value="en" selected>' in response.text
    # The password is never sent back.
    assert "li-lei-password" not in response.text
    assert (staff_count(session), audit_count(session)) == before


def test_weak_password_and_missing_roles_are_inline_errors(
    api: TestClient, session: Session
) -> None:
    _admin, token = admin_signed_in(api, session)
    before = staff_count(session), audit_count(session)
    weak = api.post("/console/staff", data=new_member(token, password="short"))
    assert weak.status_code == 422
    assert "密码至少需要 8 个字符" in weak.text
    assert 'id="error-password"' in weak.text

    no_roles = new_member(token)
    del no_roles["roles"]
    response = api.post("/console/staff", data=no_roles)
    assert response.status_code == 422
    assert "请至少选择一个有效角色" in response.text

    bad_name = api.post("/console/staff", data=new_member(token, username="李 雷"))
    assert bad_name.status_code == 422
    assert 'id="error-username"' in bad_name.text
    assert (staff_count(session), audit_count(session)) == before


def test_non_admins_get_403_and_cannot_write(api: TestClient, session: Session) -> None:
    target = make_staff(session, username="target", roles=[Role.GUIDE])
    make_staff(session, username="lee", roles=[Role.OPERATOR])
    token = sign_in(api, "lee", DEFAULT_PASSWORD)
    assert 'data-section="staff"' not in api.get("/console").text
    before = staff_count(session), audit_count(session)

    page = api.get("/console/staff")
    assert page.status_code == 403
    assert "没有权限" in page.text
    writes = [
        ("/console/staff", new_member(token)),
        (f"/console/staff/{target.id}/disable", {"csrf_token": token}),
        (f"/console/staff/{target.id}/password", {"csrf_token": token}),
        (f"/console/staff/{target.id}/roles", {"csrf_token": token, "roles": ["admin"]}),
    ]
    for path, data in writes:
        assert api.post(path, data=data).status_code == 403
    assert (staff_count(session), audit_count(session)) == before
    assert target.is_active
    assert [link.role for link in target.roles] == ["guide"]


def test_disable_and_enable_work_as_plain_forms_and_with_htmx(
    api: TestClient, session: Session
) -> None:
    _admin, token = admin_signed_in(api, session)
    member = make_staff(session, username="li.lei", roles=[Role.OPERATOR])

    plain = api.post(
        f"/console/staff/{member.id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == "/console/staff"
    assert member.is_active is False

    swapped = api.post(
        f"/console/staff/{member.id}/enable", data={"csrf_token": token}, headers=HTMX
    )
    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith(f'<tr id="staff-{member.id}"')
    assert 'hx-swap-oob="true"' in swapped.text
    assert "已启用 li.lei" in swapped.text
    assert member.is_active is True


def test_reset_password_shows_it_once_and_it_works(api: TestClient, session: Session) -> None:
    _admin, token = admin_signed_in(api, session)
    member = make_staff(session, username="li.lei", roles=[Role.OPERATOR])

    response = api.post(
        f"/console/staff/{member.id}/password", data={"csrf_token": token}, headers=HTMX
    )
    assert response.status_code == 200
    match = re.search(r'data-testid="new-password">([^<]+)</code>', response.text)
    assert match
    assert security.verify_password(member.password_hash, match.group(1))
    assert not security.verify_password(member.password_hash, DEFAULT_PASSWORD)

    plain = api.post(f"/console/staff/{member.id}/password", data={"csrf_token": token})
    assert plain.status_code == 200
    assert "只显示这一次" in plain.text
    # The listing afterwards does not show it again.
    assert 'data-testid="new-password"' not in api.get("/console/staff").text


def test_roles_can_be_edited(api: TestClient, session: Session) -> None:
    _admin, token = admin_signed_in(api, session)
    member = make_staff(session, username="li.lei", roles=[Role.OPERATOR])
    response = api.post(
        f"/console/staff/{member.id}/roles",
        data={"csrf_token": token, "roles": ["analyst", "guide"]},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert sorted(link.role for link in member.roles) == ["analyst", "guide"]
    assert "已更新 li.lei 的角色" in response.text


def test_business_rule_errors_reach_the_operator_and_write_nothing(
    api: TestClient, session: Session
) -> None:
    admin, token = admin_signed_in(api, session)
    before = audit_count(session)

    own = api.post(f"/console/staff/{admin.id}/disable", data={"csrf_token": token}, headers=HTMX)
    assert own.status_code == 403
    assert own.headers["HX-Retarget"] == "#console-flash"
    assert "不能停用自己的账号" in own.text

    last_admin = api.post(
        f"/console/staff/{admin.id}/roles", data={"csrf_token": token, "roles": ["operator"]}
    )
    assert last_admin.status_code == 409
    assert "至少需要保留一名启用状态的管理员" in last_admin.text
    assert 'id="staff-table"' in last_admin.text

    missing = api.post("/console/staff/999999/enable", data={"csrf_token": token}, headers=HTMX)
    assert missing.status_code == 404
    assert "找不到该员工" in missing.text

    assert audit_count(session) == before
    assert admin.is_active
    assert [link.role for link in admin.roles] == ["admin"]


def test_audit_page_lists_the_create_in_shanghai_time(
    api: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    # 17:30 UTC on the 21st is 01:30 on the 22nd in Shanghai.
    frozen_clock.set(datetime(2026, 11, 21, 17, 30, tzinfo=UTC))
    _admin, token = admin_signed_in(api, session)
    api.post("/console/staff", data=new_member(token), follow_redirects=False)

    page = api.get("/console/audit")
    assert page.status_code == 200
    assert "创建员工 <code>staff.create</code>" in page.text
    assert "2026-11-22 01:30:00" in page.text
    assert "&#34;username&#34;: &#34;li.lei&#34;" in page.text

    creates = api.get("/console/audit?action=staff.&actor=BOSS&target_type=staff")
    assert "共 1 条" in creates.text
    logins = api.get("/console/audit?action=auth.")
    assert "staff.create" not in logins.text
    # Date filters are calendar days in Shanghai, the end day included.
    assert "共 0 条" not in api.get("/console/audit?since=2026-11-22&until=2026-11-22").text
    assert "共 0 条" in api.get("/console/audit?until=2026-11-21").text
    invalid = api.get("/console/audit?since=yesterday")
    assert invalid.status_code == 200
    assert 'id="audit-date-error"' in invalid.text


def test_audit_pages_through_entries(api: TestClient, session: Session) -> None:
    admin, _token = admin_signed_in(api, session)
    for number in range(55):
        session.add(
            AuditLog(
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
                staff_id=admin.id,
                actor="boss",
                action="test.entry",
                target_type="test",
                target_id=str(number),
                detail={},
            )
        )
    session.flush()
    first = api.get("/console/audit?action=test.")
    assert "第 1 / 2 页" in first.text
    assert 'href="/console/audit?action=test.&amp;page=2"' in first.text
    second = api.get("/console/audit?action=test.&page=2")
    assert "第 2 / 2 页" in second.text
    assert second.text.count("<code>test.entry</code>") == 5
