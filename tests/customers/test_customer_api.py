"""Customer 360, search and timeline over HTTP: authorization matrix, scope, masking."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.customers import profile_sections
from siyu.customers.identify import IdentityInput
from siyu.customers.merge import merge_customers
from siyu.models.channel_code import ChannelCode
from siyu.models.customer import CustomerTag, Tag
from tests.customers.factories import make_cipher, make_customer
from tests.customers.test_customer_api_helpers import (  # noqa: F401 (fixtures)
    Cast,
    add_events,
    cheap_password_hashing,
    make_cast,
)

pytestmark = pytest.mark.usefixtures("frozen_clock", "cheap_password_hashing")


@pytest.fixture
def client(api: TestClient) -> TestClient:
    return api


@pytest.fixture
def cast(session: Session) -> Cast:
    return make_cast(session)


def _ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_anonymous_callers_get_401_everywhere(client: TestClient, cast: Cast) -> None:
    customer = cast.mine.id
    for method, path in [
        ("GET", "/api/v1/customers"),
        ("GET", f"/api/v1/customers/{customer}"),
        ("GET", f"/api/v1/customers/{customer}/timeline"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "auth.required"


def test_integration_role_cannot_read_customers(client: TestClient, cast: Cast) -> None:
    headers = cast.headers("integration")
    for path in [
        "/api/v1/customers",
        f"/api/v1/customers/{cast.mine.id}",
        f"/api/v1/customers/{cast.mine.id}/timeline",
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 403, path
        assert response.json()["code"] == "auth.permission_denied"


@pytest.mark.parametrize("who", ["admin", "operator", "analyst"])
def test_brand_wide_roles_see_every_customer(client: TestClient, cast: Cast, who: str) -> None:
    listed = client.get("/api/v1/customers", headers=cast.headers(who))
    assert listed.status_code == 200
    assert _ids(listed.json()) == [cast.theirs.id, cast.mine.id]
    for customer in (cast.mine, cast.theirs):
        assert (
            client.get(f"/api/v1/customers/{customer.id}", headers=cast.headers(who)).status_code
            == 200
        )


def test_guide_sees_only_their_own_customers(client: TestClient, cast: Cast) -> None:
    headers = cast.headers("guide")
    listed = client.get("/api/v1/customers", headers=headers)
    assert _ids(listed.json()) == [cast.mine.id]
    assert client.get(f"/api/v1/customers/{cast.mine.id}", headers=headers).status_code == 200
    for path in [
        f"/api/v1/customers/{cast.theirs.id}",
        f"/api/v1/customers/{cast.theirs.id}/timeline",
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["code"] == "customer.not_found"
    # Searching another guide's customer's phone finds nothing either.
    found = client.get("/api/v1/customers", params={"q": "13900001111"}, headers=headers)
    assert found.json()["items"] == []


def test_unknown_customer_is_404(client: TestClient, cast: Cast) -> None:
    response = client.get("/api/v1/customers/999999", headers=cast.headers("admin"))
    assert response.status_code == 404
    assert response.json()["code"] == "customer.not_found"


def test_operator_sees_masked_personal_data(client: TestClient, cast: Cast) -> None:
    body = client.get(f"/api/v1/customers/{cast.mine.id}", headers=cast.headers("operator")).json()
    assert body["pii_visible"] is False
    assert body["name"] == "张**"
    identities = {item["kind"]: item for item in body["identities"]}
    assert identities["phone"]["value"] == "138****5678"
    assert identities["phone"]["masked"] is True
    # Platform ids and member numbers are pseudonymous: shown in full.
    assert identities["unionid"]["value"] == "union-mine"
    assert identities["member_no"]["value"] == "M001"
    listed = client.get("/api/v1/customers", headers=cast.headers("operator")).json()
    assert [item["phone"] for item in listed["items"]] == ["139****1111", "138****5678"]
    assert [item["name"] for item in listed["items"]] == ["李*", "张**"]


def test_admin_sees_personal_data_in_full(client: TestClient, cast: Cast, session: Session) -> None:
    cast.mine.birthday = date(1998, 5, 2)
    session.flush()
    body = client.get(f"/api/v1/customers/{cast.mine.id}", headers=cast.headers("admin")).json()
    assert body["pii_visible"] is True
    assert body["name"] == "张三丰"
    assert body["birthday"] == "1998-05-02"
    phone = next(item for item in body["identities"] if item["kind"] == "phone")
    assert phone == {**phone, "value": "13812345678", "masked": False}
    masked = client.get(f"/api/v1/customers/{cast.mine.id}", headers=cast.headers("operator"))
    assert masked.json()["birthday"] == "****-05-02"


def test_profile_shows_touches_guide_tags_and_counters(
    client: TestClient, cast: Cast, session: Session, frozen_clock: FrozenClock
) -> None:
    code = ChannelCode(code="store-1", name="门店海报", kind="store_poster", touchpoint="offline")
    tag = Tag(group_name="兴趣", name="咖啡")
    session.add_all([code, tag])
    session.flush()
    now = frozen_clock.now()
    cast.mine.first_touchpoint = "offline"
    cast.mine.first_touch_channel_code_id = code.id
    cast.mine.first_touch_at = now
    cast.mine.consent = {"marketing": True}
    session.add(
        CustomerTag(customer_id=cast.mine.id, tag_id=tag.id, source="staff:x", added_at=now)
    )
    add_events(session, cast.mine.id, 4)
    session.flush()
    body = client.get(f"/api/v1/customers/{cast.mine.id}", headers=cast.headers("guide")).json()
    assert body["first_touch"] == {
        "touchpoint": "offline",
        "channel_code_id": code.id,
        "channel_code": "store-1",
        "channel_code_name": "门店海报",
        "at": "2026-11-22T02:00:00Z",
    }
    assert body["last_touch"]["touchpoint"] is None
    assert body["guide"] == {
        "id": cast.guide.id,
        "username": cast.guide.username,
        "display_name": cast.guide.display_name or "",
    }
    assert [(item["group"], item["name"]) for item in body["tags"]] == [("兴趣", "咖啡")]
    assert body["consent"] == {"marketing": True}
    assert body["sections"]["customer"] == {
        "identity_count": 3,
        "tag_count": 1,
        "events_last_30_days": 4,
    }


def test_registered_profile_sections_appear(client: TestClient, cast: Cast) -> None:
    profile_sections.register("orders", lambda _session, customer_id: {"count": customer_id})
    try:
        body = client.get(f"/api/v1/customers/{cast.mine.id}", headers=cast.headers("admin")).json()
    finally:
        profile_sections.unregister("orders")
    assert body["sections"]["orders"] == {"count": cast.mine.id}
    with pytest.raises(ValueError, match="already registered"):
        profile_sections.register("customer", lambda _session, _id: {})


def test_merged_id_resolves_to_the_survivor(
    client: TestClient, cast: Cast, session: Session
) -> None:
    other = make_customer(session, make_cipher(), identities=[IdentityInput("unionid", "u-late")])
    record = merge_customers(session, "test", cast.mine.id, other.id, "same person")
    body = client.get(f"/api/v1/customers/{other.id}", headers=cast.headers("admin")).json()
    assert body["id"] == cast.mine.id
    assert body["resolved_from"] == other.id
    assert [(m["survivor_id"], m["merged_id"], m["reason"]) for m in body["merges"]] == [
        (cast.mine.id, other.id, "same person")
    ]
    assert record.merged_id == other.id
    # The merged customer is not listed on its own.
    listed = client.get("/api/v1/customers", headers=cast.headers("admin")).json()
    assert other.id not in _ids(listed)


@pytest.mark.parametrize(
    "query",
    ["13812345678", "+86 138-1234-5678", "m001", "M001", "union-mine", "张三", "oa-open-1"],
)
def test_search_by_each_kind_of_key(
    client: TestClient, cast: Cast, session: Session, query: str
) -> None:
    extra = make_customer(
        session,
        make_cipher(),
        identities=[IdentityInput("oa_openid", "oa-open-1", "wx-app")],
        name="王五",
    )
    body = client.get(
        "/api/v1/customers", params={"q": query}, headers=cast.headers("admin")
    ).json()
    expected = extra.id if query == "oa-open-1" else cast.mine.id
    assert _ids(body) == [expected]


def test_search_by_id_and_nothing_for_a_stranger(client: TestClient, cast: Cast) -> None:
    headers = cast.headers("admin")
    by_id = client.get("/api/v1/customers", params={"q": str(cast.theirs.id)}, headers=headers)
    assert cast.theirs.id in _ids(by_id.json())
    none = client.get("/api/v1/customers", params={"q": "13700000000"}, headers=headers)
    assert none.json() == {"items": [], "next_cursor": None}
    # LIKE wildcards in q are literal.
    wildcard = client.get("/api/v1/customers", params={"q": "%"}, headers=headers)
    assert wildcard.json()["items"] == []


def test_filters_and_keyset_pages(client: TestClient, cast: Cast, session: Session) -> None:
    cipher = make_cipher()
    tag = Tag(group_name="", name="VIP")
    session.add(tag)
    session.flush()
    made = [make_customer(session, cipher, guide_id=cast.guide.id) for _ in range(5)]
    for customer in made[:2]:
        customer.last_touchpoint = "wecom"
        session.add(
            CustomerTag(
                customer_id=customer.id, tag_id=tag.id, source="t", added_at=customer.created_at
            )
        )
    session.flush()
    headers = cast.headers("admin")
    by_guide = client.get(
        "/api/v1/customers", params={"guide_id": cast.guide.id, "limit": 4}, headers=headers
    ).json()
    expected = [customer.id for customer in reversed(made)] + [cast.mine.id]
    assert _ids(by_guide) == expected[:4]
    second = client.get(
        "/api/v1/customers",
        params={"guide_id": cast.guide.id, "limit": 4, "cursor": by_guide["next_cursor"]},
        headers=headers,
    ).json()
    assert _ids(second) == expected[4:]
    assert second["next_cursor"] is None
    by_tag = client.get("/api/v1/customers", params={"tag": tag.id}, headers=headers).json()
    assert _ids(by_tag) == [made[1].id, made[0].id]
    by_touchpoint = client.get("/api/v1/customers", params={"touchpoint": "wecom"}, headers=headers)
    assert _ids(by_touchpoint.json()) == [made[1].id, made[0].id]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 0}, "customer.invalid_limit"),
        ({"limit": 201}, "customer.invalid_limit"),
        ({"cursor": "@@@"}, "customer.invalid_cursor"),
    ],
)
def test_bad_paging_is_422(
    client: TestClient, cast: Cast, params: dict[str, Any], code: str
) -> None:
    for path in ["/api/v1/customers", f"/api/v1/customers/{cast.mine.id}/timeline"]:
        response = client.get(path, params=params, headers=cast.headers("admin"))
        assert response.status_code == 422, path
        assert response.json()["code"] == code


def test_timeline_pages_are_exact_and_newest_first(
    client: TestClient, cast: Cast, session: Session
) -> None:
    events = add_events(session, cast.mine.id, 8)
    add_events(session, cast.theirs.id, 3)
    expected = [
        event.id for event in sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)
    ]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = client.get(
            f"/api/v1/customers/{cast.mine.id}/timeline",
            params=params,
            headers=cast.headers("guide"),
        ).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3
    filtered = client.get(
        f"/api/v1/customers/{cast.mine.id}/timeline",
        params={"type": "page_view"},
        headers=cast.headers("guide"),
    ).json()
    assert [item["id"] for item in filtered["items"]] == [
        event_id
        for event_id in expected
        if next(e for e in events if e.id == event_id).type == "page_view"
    ]
    assert {item["type"] for item in filtered["items"]} == {"page_view"}


def test_timeline_of_merged_id_is_the_survivors(
    client: TestClient, cast: Cast, session: Session
) -> None:
    other = make_customer(session, make_cipher())
    add_events(session, other.id, 2)
    merge_customers(session, "test", cast.mine.id, other.id, "same")
    body = client.get(
        f"/api/v1/customers/{other.id}/timeline", headers=cast.headers("admin")
    ).json()
    assert body["customer_id"] == cast.mine.id
    assert len(body["items"]) == 2


@pytest.fixture(autouse=True)
def _no_leftover_sections() -> Iterator[None]:
    before = profile_sections.registered()
    yield
    assert profile_sections.registered() == before
