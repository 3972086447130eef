"""Tag API: groups and tags CRUD, tagging in bulk within the caller's scope, history,
bad input, and the authorization matrix of every endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.audiences.tags import service as tags
from siyu.core import clock
from siyu.models.audience import CustomerTagHistory, TagGroup
from siyu.models.customer import CustomerTag, Tag
from siyu.models.staff import AuditLog, Role
from tests.audiences.segments_helpers import count, history, holders, make_customers
from tests.catalog.factories import bearer, customer_headers
from tests.customers.factories import make_cipher
from tests.factories import make_staff, make_token


def _snapshot(session: Session) -> tuple[int, ...]:
    return tuple(
        count(session, model) for model in (TagGroup, Tag, CustomerTag, CustomerTagHistory)
    )


def test_groups_and_tags_crud(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    group = api.post(
        "/api/v1/audiences/tags/groups",
        json={"name": "肤质", "is_exclusive": True, "description": "单选"},
        headers=headers,
    )
    assert group.status_code == 201, group.text
    assert group.json() | {"id": 0} == {
        "id": 0,
        "name": "肤质",
        "description": "单选",
        "is_exclusive": True,
        "sort_order": 0,
        "tag_count": 0,
    }
    dry = api.post(
        "/api/v1/audiences/tags", json={"group_name": "肤质", "name": "干性"}, headers=headers
    )
    assert dry.status_code == 201
    assert dry.json()["kind"] == "manual"
    again = api.post(
        "/api/v1/audiences/tags", json={"group_name": "肤质", "name": "干性"}, headers=headers
    )
    assert (again.status_code, again.json()["code"]) == (409, "audience.tag_exists")
    # Renaming the group moves its tags along.
    renamed = api.patch(
        f"/api/v1/audiences/tags/groups/{group.json()['id']}",
        json={"name": "肤质类型"},
        headers=headers,
    )
    assert renamed.status_code == 200
    listed = api.get("/api/v1/audiences/tags", headers=headers).json()
    assert [(g["name"], g["tag_count"]) for g in listed["groups"]] == [("肤质类型", 1)]
    assert [(t["group_name"], t["name"]) for t in listed["items"]] == [("肤质类型", "干性")]
    busy = api.delete(f"/api/v1/audiences/tags/groups/{group.json()['id']}", headers=headers)
    assert (busy.status_code, busy.json()["code"]) == (409, "audience.tag_group_not_empty")
    assert (
        api.delete(f"/api/v1/audiences/tags/{dry.json()['id']}", headers=headers).status_code == 204
    )
    assert (
        api.delete(
            f"/api/v1/audiences/tags/groups/{group.json()['id']}", headers=headers
        ).status_code
        == 204
    )
    assert _snapshot(session)[:2] == (0, 0)


def test_rule_tag_is_validated_and_cannot_be_set_by_hand(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    bad = api.post(
        "/api/v1/audiences/tags",
        json={"name": "坏规则", "rule": {"event": "product_view", "window": {"days": 0}}},
        headers=headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "audience.rule_invalid")
    rule = {"event": "product_view", "window": {"days": 7}}
    created = api.post(
        "/api/v1/audiences/tags", json={"name": "近7天浏览", "rule": rule}, headers=headers
    )
    assert created.status_code == 201
    tag_id = created.json()["id"]
    assert created.json()["kind"] == "rule"
    cycle = api.patch(
        f"/api/v1/audiences/tags/{tag_id}",
        json={"rule": {"tag": tag_id, "has": True}},
        headers=headers,
    )
    assert (cycle.status_code, cycle.json()["code"]) == (422, "audience.tag_invalid")
    (customer,) = make_customers(session, 1)
    by_hand = api.post(
        f"/api/v1/audiences/tags/{tag_id}/customers",
        json={"customer_ids": [customer]},
        headers=headers,
    )
    assert (by_hand.status_code, by_hand.json()["code"]) == (409, "audience.tag_is_rule")
    assert holders(session, tag_id) == []


def test_guides_tag_only_their_own_customers(api: TestClient, session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    headers = {"Authorization": f"Bearer {make_token(session, guide)}"}
    mine = make_customers(session, 2, guide_id=guide.id)
    others = make_customers(session, 1)
    tag = tags.ensure_tag(session, "兴趣", "香水")
    response = api.post(
        f"/api/v1/audiences/tags/{tag.id}/customers",
        json={"customer_ids": [*mine, *others, 2**62]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"tag_id": tag.id, "changed": 2, "skipped": sorted([*others, 2**62])}
    assert holders(session, tag.id) == mine
    assert history(session, tag_id=tag.id) == [
        (c, tag.id, "added", f"staff:{guide.username}") for c in mine
    ]
    # History of a customer outside the guide's scope is not found.
    hidden = api.get(f"/api/v1/audiences/tags/customers/{others[0]}/history", headers=headers)
    assert hidden.status_code == 404
    removed = api.post(
        f"/api/v1/audiences/tags/{tag.id}/customers/remove",
        json={"customer_ids": [mine[0]]},
        headers=headers,
    )
    assert removed.json() == {"tag_id": tag.id, "changed": 1, "skipped": []}
    page = api.get(
        f"/api/v1/audiences/tags/customers/{mine[0]}/history?limit=1", headers=headers
    ).json()
    assert [(i["action"], i["tag_name"]) for i in page["items"]] == [("removed", "香水")]
    rest = api.get(
        f"/api/v1/audiences/tags/customers/{mine[0]}/history?limit=1&cursor={page['next_cursor']}",
        headers=headers,
    ).json()
    assert [(i["action"], i["source"]) for i in rest["items"]] == [
        ("added", f"staff:{guide.username}")
    ]
    assert rest["next_cursor"] is None


def test_tagging_bad_input_is_a_4xx_and_changes_nothing(api: TestClient, session: Session) -> None:
    headers = bearer(session, Role.OPERATOR)
    tag = tags.ensure_tag(session, "", "VIP")
    before = _snapshot(session)
    for body in ({"customer_ids": []}, {"customer_ids": [0]}, {"customer_ids": ["x"]}, {}):
        response = api.post(
            f"/api/v1/audiences/tags/{tag.id}/customers", json=body, headers=headers
        )
        assert response.status_code == 422, body
    missing = api.post(
        "/api/v1/audiences/tags/999999/customers", json={"customer_ids": [1]}, headers=headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "audience.tag_not_found")
    assert _snapshot(session) == before


Who = Callable[[Session], dict[str, str]]


def _anonymous(_session: Session) -> dict[str, str]:
    return {}


def _customer(session: Session) -> dict[str, str]:
    return customer_headers(session, make_cipher())


def _role(role: Role) -> Who:
    return lambda session: bearer(session, role)


def _endpoints(session: Session) -> list[tuple[str, str, dict[str, Any] | None, Role, Role]]:
    """(method, path, body, a role without the permission, a role with it)."""
    group = tags.ensure_group(session, "尺码")
    tag = tags.ensure_tag(session, "尺码", "S")
    (customer,) = make_customers(session, 1)
    manage = (Role.ANALYST, Role.OPERATOR)
    read = (Role.INTEGRATION, Role.ANALYST)
    write = (Role.ANALYST, Role.GUIDE)
    return [
        ("GET", "/api/v1/audiences/tags", None, *read),
        ("POST", "/api/v1/audiences/tags/groups", {"name": "新组"}, *manage),
        ("PATCH", f"/api/v1/audiences/tags/groups/{group.id}", {"description": "x"}, *manage),
        (
            "DELETE",
            f"/api/v1/audiences/tags/groups/{tags.ensure_group(session, '空').id}",
            None,
            *manage,
        ),
        ("POST", "/api/v1/audiences/tags", {"name": "新标签"}, *manage),
        ("GET", f"/api/v1/audiences/tags/{tag.id}", None, *read),
        ("PATCH", f"/api/v1/audiences/tags/{tag.id}", {"description": "小码"}, *manage),
        (
            "DELETE",
            f"/api/v1/audiences/tags/{tags.ensure_tag(session, '', '删').id}",
            None,
            *manage,
        ),
        (
            "POST",
            f"/api/v1/audiences/tags/{tag.id}/customers",
            {"customer_ids": [customer]},
            *write,
        ),
        (
            "POST",
            f"/api/v1/audiences/tags/{tag.id}/customers/remove",
            {"customer_ids": [customer]},
            *write,
        ),
        ("GET", f"/api/v1/audiences/tags/customers/{customer}/history", None, *read),
    ]


@pytest.mark.parametrize("who", ["anonymous", "customer", "without", "with"])
def test_authorization_matrix(api: TestClient, session: Session, who: str) -> None:
    for method, path, body, without, allowed in _endpoints(session):
        headers = {
            "anonymous": _anonymous,
            "customer": _customer,
            "without": _role(without),
            "with": _role(allowed),
        }[who](session)
        before = _snapshot(session), count(session, AuditLog)
        response = api.request(method, path, json=body, headers=headers)
        if who == "with":
            assert response.status_code in (200, 201, 204), (method, path, response.text)
            continue
        expected = 403 if who == "without" else 401
        assert response.status_code == expected, (method, path, who, response.text)
        assert (_snapshot(session), count(session, AuditLog)) == before, (method, path)


def test_history_is_newest_first(session: Session, frozen_clock: clock.FrozenClock) -> None:
    from siyu.audiences.tags import manage

    (customer,) = make_customers(session, 1)
    tag = tags.ensure_tag(session, "", "复购")
    tags.add_links(session, [tags.Link(customer, tag.id, "staff:a")], now=clock.now())
    tags.remove_links(session, tag.id, [customer], source="staff:b", now=clock.now())
    items, cursor = manage.history(session, customer, limit=10, cursor=None)
    assert [(i.action, i.source) for i in items] == [("removed", "staff:b"), ("added", "staff:a")]
    assert cursor is None
