"""Per-event checks, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from siyu.core.settings import Settings
from siyu.events.validate import CheckedEvent, IngestPolicy, Rejection, check_event
from tests.events.factories import make_event

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def event(**fields: Any) -> dict[str, Any]:
    fields.setdefault("occurred_at", NOW)
    return make_event(**fields)


def check(raw: Any, **kwargs: Any) -> CheckedEvent | Rejection:
    return check_event(0, raw, now=NOW, policy=IngestPolicy(), **kwargs)


def test_contract_example_is_normalised_to_utc() -> None:
    outcome = check(
        event(
            event_id="e-1",
            occurred_at="2026-11-22T15:04:05+08:00",
            context={"touchpoint": "mp", "channel_code": "poster1", "scene": 1047},
            properties={"sku_id": 7},
        )
    )
    assert isinstance(outcome, CheckedEvent)
    assert outcome.occurred_at == datetime(2026, 11, 22, 7, 4, 5, tzinfo=UTC)
    assert outcome.touchpoint == "mp"
    assert outcome.channel_code == "poster1"
    assert outcome.context == {"scene": 1047}
    assert outcome.properties == {"sku_id": 7}
    assert [(item.kind, item.namespace) for item in outcome.identities] == [("anonymous_id", None)]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"type": "teleport"}, "event.invalid_type"),
        ({"type": "custom."}, "event.invalid_type"),
        ({"type": "custom.Bad"}, "event.invalid_type"),
        ({"event_id": ""}, "event.invalid_event_id"),
        ({"event_id": "x" * 65}, "event.invalid_event_id"),
        ({"occurred_at": "yesterday"}, "event.invalid_occurred_at"),
        ({"occurred_at": "2026-11-22T07:00:00"}, "event.invalid_occurred_at"),
        ({"occurred_at": 1763794800}, "event.invalid_occurred_at"),
        ({"occurred_at": "2026-11-22T07:10:01Z"}, "event.occurred_in_future"),
        ({"occurred_at": "2026-10-23T06:59:59Z"}, "event.occurred_too_long_ago"),
        ({"properties": [1, 2]}, "event.invalid_properties"),
        ({"properties": "sku=7"}, "event.invalid_properties"),
        ({"context": "mp"}, "event.invalid_context"),
        ({"context": {"touchpoint": "fax"}}, "event.invalid_touchpoint"),
        ({"context": {"channel_code": 12}}, "event.unknown_channel_code"),
        ({"identities": []}, "event.no_identity"),
        ({"identities": None}, "event.no_identity"),
        ({"identities": [{"kind": "phone"}]}, "event.invalid"),
        ({"identities": "anon"}, "event.invalid"),
    ],
)
def test_bad_events_are_rejected_with_a_stable_code(changes: dict[str, Any], code: str) -> None:
    raw = event() | changes
    outcome = check(raw)
    assert isinstance(outcome, Rejection)
    assert (outcome.index, outcome.code) == (0, code)


def test_tolerances_are_inclusive_at_the_edges() -> None:
    edge_future = check(event(occurred_at=NOW + timedelta(minutes=10)))
    edge_past = check(event(occurred_at=NOW - timedelta(days=30)))
    assert isinstance(edge_future, CheckedEvent)
    assert isinstance(edge_past, CheckedEvent)


def test_custom_types_and_missing_optional_fields_are_accepted() -> None:
    raw = event(type="custom.live_stream.enter")
    del raw["context"], raw["properties"]
    outcome = check(raw)
    assert isinstance(outcome, CheckedEvent)
    assert (outcome.type, outcome.context, outcome.properties, outcome.touchpoint) == (
        "custom.live_stream.enter",
        {},
        {},
        None,
    )


def test_a_non_object_event_is_rejected() -> None:
    outcome = check(["not", "an", "event"])
    assert outcome == Rejection(0, "event.invalid", "Each event must be a JSON object.")


def test_anonymous_only_refuses_other_kinds() -> None:
    raw = event(identities=[{"kind": "phone", "value": "13800138000"}])
    outcome = check(raw, anonymous_only=True)
    assert isinstance(outcome, Rejection)
    assert outcome.code == "event.anonymous_only"


def test_namespace_is_taken_from_app_id() -> None:
    raw = event(identities=[{"kind": "mp_openid", "app_id": "wx1", "value": "o-1"}])
    outcome = check(raw)
    assert isinstance(outcome, CheckedEvent)
    assert [(i.kind, i.value, i.namespace) for i in outcome.identities] == [
        ("mp_openid", "o-1", "wx1")
    ]


def test_identities_are_not_needed_for_a_session_customer() -> None:
    raw = event()
    del raw["identities"]
    assert isinstance(check(raw, need_identities=False), CheckedEvent)


def test_policy_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIYU_TRACK_FUTURE_TOLERANCE_SECONDS", "60")
    monkeypatch.setenv("SIYU_TRACK_MAX_AGE_DAYS", "7")
    assert IngestPolicy.from_settings(Settings(_env_file=None)) == IngestPolicy(  # type: ignore[call-arg]
        future_tolerance=timedelta(seconds=60), max_age=timedelta(days=7)
    )
    # The defaults of Settings and of IngestPolicy are the same policy.
    monkeypatch.delenv("SIYU_TRACK_FUTURE_TOLERANCE_SECONDS")
    monkeypatch.delenv("SIYU_TRACK_MAX_AGE_DAYS")
    assert IngestPolicy.from_settings(Settings(_env_file=None)) == IngestPolicy()  # type: ignore[call-arg]
