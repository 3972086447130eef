"""POST /api/v1/track and GET /api/v1/event-types."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.customers.identify import IdentityInput
from siyu.models.channel_code import ChannelCodeVisit
from siyu.models.customer import Customer, CustomerIdentity
from siyu.models.staff import Role
from siyu.models.tracking import TrackedEvent
from tests.customers.factories import make_cipher, make_customer
from tests.events.conftest import bearer
from tests.events.factories import make_channel_code, make_event

TRACK = "/api/v1/track"


def event_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TrackedEvent)) or 0)


def post(client: TestClient, headers: dict[str, str], events: list[Any]) -> Any:
    return client.post(TRACK, json={"events": events}, headers=headers)


def test_contract_example(client: TestClient, session: Session, frozen_clock: FrozenClock) -> None:
    headers = bearer(session, Role.INTEGRATION)
    event = {
        "event_id": "ev-contract-1",
        "type": "product_view",
        "occurred_at": "2026-11-22T09:04:05+08:00",
        "identities": [{"kind": "anonymous_id", "value": "device-1"}],
        "context": {"touchpoint": "mp", "scene": 1047, "page": "pages/sku?id=7"},
        "properties": {"sku_id": 7},
    }
    response = post(client, headers, [event])
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    stored = session.scalars(select(TrackedEvent)).one()
    owner = session.scalars(
        select(CustomerIdentity).where(CustomerIdentity.value == "device-1")
    ).one()
    assert stored.customer_id == owner.customer_id
    assert (stored.type, stored.touchpoint, stored.channel_code_id) == ("product_view", "mp", None)
    assert stored.occurred_at == datetime(2026, 11, 22, 1, 4, 5, tzinfo=UTC)
    assert stored.received_at == frozen_clock.now()
    assert stored.context == {"scene": 1047, "page": "pages/sku?id=7"}
    assert stored.properties == {"sku_id": 7}


def test_good_events_are_stored_next_to_bad_ones(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.INTEGRATION)
    now = frozen_clock.now()
    events: list[Any] = [
        make_event(event_id="good-0"),
        make_event(type="teleport"),
        make_event(properties=[1]),
        make_event(occurred_at=now + timedelta(minutes=11)),
        make_event(identities=[]),
        make_event(identities=[{"kind": "fingerprint", "value": "x"}]),
        make_event(identities=[{"kind": "phone", "value": "12345"}]),
        make_event(context={"touchpoint": "mp", "channel_code": "nope"}),
        make_event(context={"touchpoint": "telegram"}),
        "not an event",
        make_event(event_id="good-10", type="custom.live.enter"),
    ]
    response = post(client, headers, events)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [(item["index"], item["code"]) for item in body["rejected"]] == [
        (1, "event.invalid_type"),
        (2, "event.invalid_properties"),
        (3, "event.occurred_in_future"),
        (4, "event.no_identity"),
        (5, "customer.unknown_identity_kind"),
        (6, "customer.invalid_phone"),
        (7, "event.unknown_channel_code"),
        (8, "event.invalid_touchpoint"),
        (9, "event.invalid"),
    ]
    assert all(item["message"] for item in body["rejected"])
    stored = set(session.scalars(select(TrackedEvent.event_id)))
    assert stored == {"good-0", "good-10"}


def test_repeats_are_ignored_not_double_counted(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.INTEGRATION)
    first = make_event(event_id="dup-1")
    second = make_event(event_id="dup-2")
    response = post(client, headers, [first, second, first])
    assert response.json() == {"accepted": 2, "duplicates": 1, "rejected": []}
    response = post(client, headers, [second, make_event(event_id="dup-3")])
    assert response.json() == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert event_count(session) == 3


def test_same_identity_in_a_batch_is_one_customer(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.INTEGRATION)
    who = [{"kind": "anonymous_id", "value": "device-same"}]
    earlier = frozen_clock.now() - timedelta(hours=2)
    events = [make_event(identities=who), make_event(identities=who, occurred_at=earlier)]
    assert post(client, headers, events).json()["accepted"] == 2
    customers = set(session.scalars(select(TrackedEvent.customer_id)))
    assert len(customers) == 1


def test_last_seen_only_moves_forward(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.INTEGRATION)
    known = make_customer(
        session, make_cipher(), identities=[IdentityInput("anonymous_id", "device-known")]
    )
    who = [{"kind": "anonymous_id", "value": "device-known"}]
    an_hour_ago = frozen_clock.now() - timedelta(hours=1)
    two_hours_ago = frozen_clock.now() - timedelta(hours=2)
    post(client, headers, [make_event(identities=who, occurred_at=two_hours_ago)])
    session.refresh(known)
    assert known.last_seen_at == two_hours_ago
    post(client, headers, [make_event(identities=who, occurred_at=an_hour_ago)])
    session.refresh(known)
    assert known.last_seen_at == an_hour_ago
    # A late-arriving older event never moves it back.
    post(client, headers, [make_event(identities=who, occurred_at=two_hours_ago)])
    session.refresh(known)
    assert known.last_seen_at == an_hour_ago


def test_channel_code_is_stored_and_attributed_once(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.INTEGRATION)
    code = make_channel_code(session, code="poster-a")
    inactive = make_channel_code(session, code="poster-off", is_active=False)
    event = make_event(
        event_id="with-code",
        identities=[{"kind": "anonymous_id", "value": "scan-1"}],
        context={"touchpoint": "h5", "channel_code": "poster-a"},
    )
    off = make_event(
        event_id="with-off-code",
        identities=[{"kind": "anonymous_id", "value": "scan-2"}],
        context={"touchpoint": "h5", "channel_code": "poster-off"},
    )
    assert post(client, headers, [event, off]).json()["accepted"] == 2
    assert post(client, headers, [event]).json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    stored = {row.event_id: row for row in session.scalars(select(TrackedEvent))}
    assert stored["with-code"].channel_code_id == code.id
    assert stored["with-off-code"].channel_code_id == inactive.id
    visits = session.scalars(select(ChannelCodeVisit)).all()
    assert [(v.channel_code_id, v.customer_id, v.how, v.is_new_customer) for v in visits] == [
        (code.id, stored["with-code"].customer_id, "visit", True)
    ]
    customer = session.get(Customer, stored["with-code"].customer_id)
    assert customer is not None
    session.refresh(customer)
    assert (customer.first_touch_channel_code_id, customer.first_touchpoint) == (code.id, "h5")


def test_whole_body_problems(client: TestClient, session: Session) -> None:
    headers = bearer(session, Role.INTEGRATION)
    for body, code in (
        (b"{not json", "event.invalid_batch"),
        (b"[]", "event.invalid_batch"),
        (b'{"events": {"0": {}}}', "event.invalid_batch"),
        (b'{"evts": []}', "event.invalid_batch"),
    ):
        response = client.post(TRACK, content=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (422, code)
    assert event_count(session) == 0


def test_oversize_batches_are_413(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.INTEGRATION)
    too_many = [make_event() for _ in range(1001)]
    response = post(client, headers, too_many)
    assert (response.status_code, response.json()["code"]) == (413, "event.batch_too_large")
    big = [make_event(properties={"blob": "x" * 1100}) for _ in range(1000)]
    assert len(json.dumps({"events": big})) > 1024 * 1024
    response = post(client, headers, big)
    assert (response.status_code, response.json()["code"]) == (413, "event.batch_too_large")
    assert event_count(session) == 0
    assert post(client, headers, too_many[:1000]).json()["accepted"] == 1000


def test_authorization_matrix(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    events = [make_event()]
    anonymous = client.post(TRACK, json={"events": events})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "auth.required")
    for role in (Role.GUIDE, Role.ANALYST, Role.STORE_MANAGER):
        denied = post(client, bearer(session, role), events)
        assert (denied.status_code, denied.json()["code"]) == (403, "auth.permission_denied")
    assert event_count(session) == 0
    assert session.scalar(select(func.count()).select_from(Customer)) == 0
    for role in (Role.INTEGRATION, Role.OPERATOR, Role.ADMIN):
        response = post(client, bearer(session, role), [make_event()])
        assert response.json()["accepted"] == 1
    assert event_count(session) == 3


def test_event_types_catalogue(client: TestClient, session: Session) -> None:
    assert client.get("/api/v1/event-types").status_code == 401
    response = client.get("/api/v1/event-types", headers=bearer(session, Role.GUIDE))
    assert response.status_code == 200
    body = response.json()
    names = [item["name"] for item in body["types"]]
    for name in ("page_view", "product_view", "search", "add_to_cart", "checkout_start"):
        assert name in names
    for name in ("order_paid", "share", "coupon_claimed", "subscribe", "group_join"):
        assert name in names
    assert body["custom_prefix"] == "custom."
    assert [item["name"] for item in body["touchpoints"]][:6] == [
        "oa",
        "mp",
        "wecom",
        "h5",
        "offline",
        "video_channel",
    ]


def test_several_identities_link_and_a_conflict_rejects_only_its_event(
    client: TestClient, session: Session, frozen_clock: FrozenClock
) -> None:
    headers = bearer(session, Role.INTEGRATION)
    linked = make_event(
        event_id="linked",
        identities=[
            {"kind": "anonymous_id", "value": "device-link"},
            {"kind": "member_no", "value": "m100"},
        ],
    )
    clash = make_event(
        event_id="clash",
        identities=[
            {"kind": "member_no", "value": "m100"},
            {"kind": "member_no", "value": "m200"},
        ],
    )
    body = post(client, headers, [linked, clash, make_event(event_id="plain")]).json()
    assert (body["accepted"], [(r["index"], r["code"]) for r in body["rejected"]]) == (
        2,
        [(1, "customer.identity_conflict")],
    )
    owners = dict(
        session.execute(
            select(CustomerIdentity.value, CustomerIdentity.customer_id).where(
                CustomerIdentity.value.in_(["device-link", "M100"])
            )
        ).all()
    )
    stored = session.scalars(select(TrackedEvent).where(TrackedEvent.event_id == "linked")).one()
    assert owners == {"device-link": stored.customer_id, "M100": stored.customer_id}
    assert set(session.scalars(select(TrackedEvent.event_id))) == {"linked", "plain"}
