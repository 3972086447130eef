"""Customer console pages through the TestClient: list, profile, timeline rows,
conflicts queue and the WeCom sidebar card — scope and masking as in the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.customers.identify import IdentityInput
from siyu.models.customer import ConflictStatus, IdentityConflict
from tests.customers.factories import make_cipher, make_customer
from tests.customers.test_customer_api_helpers import (  # noqa: F401 (fixtures)
    Cast,
    add_events,
    audit_rows,
    cheap_password_hashing,
    make_cast,
)
from tests.factories import DEFAULT_PASSWORD
from tests.web.console_helpers import sign_in

pytestmark = pytest.mark.usefixtures("frozen_clock", "cheap_password_hashing")


@pytest.fixture
def client(api: TestClient) -> TestClient:
    return api


@pytest.fixture
def cast(session: Session) -> Cast:
    cast = make_cast(session)
    make_customer(
        session,
        make_cipher(),
        identities=[IdentityInput("wecom_external_userid", "wm-theirs", "corp1")],
        guide_id=cast.other_guide.id,
    )
    make_customer(
        session,
        make_cipher(),
        identities=[IdentityInput("wecom_external_userid", "wm-mine", "corp1")],
        guide_id=cast.guide.id,
        name="王小明",
    )
    return cast


def _as(client: TestClient, username: str) -> str:
    return sign_in(client, username, DEFAULT_PASSWORD)


def test_anonymous_is_sent_to_login(client: TestClient, cast: Cast) -> None:
    for path in [
        "/console/customers",
        f"/console/customers/{cast.mine.id}",
        "/console/customers/conflicts",
        "/console/sidebar?external_userid=wm-mine",
    ]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login"), path


def test_integration_staff_may_not_open_customer_pages(client: TestClient, cast: Cast) -> None:
    _as(client, cast.integration.username)
    for path in ["/console/customers", f"/console/customers/{cast.mine.id}", "/console/sidebar"]:
        assert client.get(path).status_code == 403, path


def test_operator_searches_by_phone_and_sees_it_masked(client: TestClient, cast: Cast) -> None:
    _as(client, cast.operator.username)
    page = client.get("/console/customers", params={"q": "138 1234 5678"})
    assert page.status_code == 200
    assert f'data-customer-id="{cast.mine.id}"' in page.text
    assert f'data-customer-id="{cast.theirs.id}"' not in page.text
    assert "138****5678" in page.text
    assert "13812345678" not in page.text
    assert "张**" in page.text


def test_admin_sees_the_phone_in_full(client: TestClient, cast: Cast) -> None:
    _as(client, cast.admin.username)
    page = client.get(f"/console/customers/{cast.mine.id}")
    assert page.status_code == 200
    assert "13812345678" in page.text
    assert "张三丰" in page.text
    assert 'id="export-link"' in page.text


def test_guide_lists_and_opens_only_their_customers(client: TestClient, cast: Cast) -> None:
    _as(client, cast.guide.username)
    listing = client.get("/console/customers")
    assert f'data-customer-id="{cast.mine.id}"' in listing.text
    assert f'data-customer-id="{cast.theirs.id}"' not in listing.text
    assert client.get(f"/console/customers/{cast.theirs.id}").status_code == 404
    profile = client.get(f"/console/customers/{cast.mine.id}")
    assert profile.status_code == 200
    assert "138****5678" in profile.text
    assert 'id="export-link"' not in profile.text


def test_profile_timeline_loads_more_rows(client: TestClient, cast: Cast, session: Session) -> None:
    events = add_events(session, cast.mine.id, 25)
    _as(client, cast.operator.username)
    page = client.get(f"/console/customers/{cast.mine.id}")
    assert page.text.count("data-event-id=") == 20
    assert 'id="timeline-more"' in page.text
    newest = sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)
    cursor_start = page.text.index("/timeline?cursor=") + len("/timeline?cursor=")
    cursor = page.text[cursor_start : page.text.index('"', cursor_start)]
    more = client.get(
        f"/console/customers/{cast.mine.id}/timeline",
        params={"cursor": cursor.replace("%3D", "=")},
        headers={"HX-Request": "true"},
    )
    assert more.status_code == 200
    shown = [int(part.split('"')[0]) for part in more.text.split('data-event-id="')[1:]]
    assert shown == [event.id for event in newest[20:]]
    assert 'id="timeline-more"' not in more.text


def test_sidebar_finds_the_guides_customer(client: TestClient, cast: Cast) -> None:
    _as(client, cast.guide.username)
    page = client.get("/console/sidebar", params={"external_userid": "wm-mine", "corp_id": "corp1"})
    assert page.status_code == 200
    assert 'id="sidebar-customer"' in page.text
    assert "王**" in page.text
    # Another guide's contact, and an unknown one, get the friendly card.
    for external_userid in ["wm-theirs", "wm-nobody", ""]:
        other = client.get("/console/sidebar", params={"external_userid": external_userid})
        assert other.status_code == 200
        assert 'id="sidebar-not-found"' in other.text
        assert 'id="sidebar-customer"' not in other.text


def test_sidebar_in_english(client: TestClient, cast: Cast) -> None:
    _as(client, cast.admin.username)
    page = client.get("/console/sidebar", params={"external_userid": "nobody", "lang": "en"})
    assert "Not in siyu yet" in page.text


def _conflict(session: Session, customer_ids: list[int]) -> IdentityConflict:
    row = IdentityConflict(
        kind="phone",
        namespace="",
        customer_ids=customer_ids,
        detail={"existing": "138****5678", "incoming": "139****1111"},
        source="test",
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def test_conflicts_queue_resolve_and_dismiss(
    client: TestClient, cast: Cast, session: Session
) -> None:
    first = _conflict(session, [cast.mine.id])
    second = _conflict(session, [cast.theirs.id])
    token = _as(client, cast.operator.username)
    page = client.get("/console/customers/conflicts")
    assert f'data-conflict-id="{first.id}"' in page.text
    assert f'data-conflict-id="{second.id}"' in page.text
    empty_note = client.post(
        f"/console/customers/conflicts/{first.id}/resolve",
        data={"csrf_token": token, "note": " "},
    )
    assert empty_note.status_code == 422
    resolved = client.post(
        f"/console/customers/conflicts/{first.id}/resolve",
        data={"csrf_token": token, "note": "两个号码都是本人"},
        follow_redirects=False,
    )
    assert resolved.status_code == 303
    dismissed = client.post(
        f"/console/customers/conflicts/{second.id}/dismiss",
        data={"csrf_token": token, "note": "测试数据"},
        follow_redirects=False,
    )
    assert dismissed.status_code == 303
    session.expire_all()
    assert (first.status, first.resolution) == (ConflictStatus.RESOLVED, "两个号码都是本人")
    assert second.status == ConflictStatus.DISMISSED
    again = client.post(
        f"/console/customers/conflicts/{first.id}/resolve",
        data={"csrf_token": token, "note": "again"},
    )
    assert again.status_code == 409
    assert len(audit_rows(session, "customer.conflict_resolve")) == 1
    open_page = client.get("/console/customers/conflicts")
    assert 'id="no-conflicts"' in open_page.text


def test_conflict_writes_need_customers_write_and_csrf(
    client: TestClient, cast: Cast, session: Session
) -> None:
    row = _conflict(session, [cast.mine.id])
    token = _as(client, cast.analyst.username)
    page = client.get("/console/customers/conflicts")
    assert page.status_code == 200
    assert "/resolve" not in page.text
    denied = client.post(
        f"/console/customers/conflicts/{row.id}/resolve", data={"csrf_token": token, "note": "x"}
    )
    assert denied.status_code == 403
    client.cookies.clear()
    token = _as(client, cast.operator.username)
    forged = client.post(f"/console/customers/conflicts/{row.id}/resolve", data={"note": "x"})
    assert forged.status_code == 403
    session.expire_all()
    assert row.status == ConflictStatus.OPEN
    assert audit_rows(session, "customer.conflict_resolve") == []


def test_guide_sees_only_conflicts_about_their_customers(
    client: TestClient, cast: Cast, session: Session
) -> None:
    mine = _conflict(session, [cast.mine.id])
    theirs = _conflict(session, [cast.theirs.id])
    _as(client, cast.guide.username)
    page = client.get("/console/customers/conflicts")
    assert f'data-conflict-id="{mine.id}"' in page.text
    assert f'data-conflict-id="{theirs.id}"' not in page.text


def test_catalogs_cover_every_key_the_customer_pages_build_from_data() -> None:
    from siyu.customers import profile_sections
    from siyu.events.catalogue import TOUCHPOINTS
    from siyu.models.customer import CustomerStatus, IdentityKind
    from siyu.web import i18n

    keys = {f"customers.kind.{kind.value}" for kind in IdentityKind}
    keys |= {f"customers.status.{status.value}" for status in CustomerStatus}
    keys |= {f"customers.touchpoint.{name}" for name in TOUCHPOINTS}
    keys |= {f"conflicts.status.{status.value}" for status in ConflictStatus} | {
        "conflicts.status.all"
    }
    keys |= {
        f"customers.counter.customer.{name}"
        for name in ("identity_count", "tag_count", "events_last_30_days")
    }
    assert "customer" in profile_sections.registered()
    for language in i18n.LANGUAGES:
        assert sorted(keys - set(i18n.catalog(language))) == [], language
