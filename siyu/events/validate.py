"""Per-event validation of a tracking batch, hand-rolled on plain dicts.

A pydantic model per event would cost more than the insert itself at 100 k events/s
(measured in bench/ingest.py); these checks are the same rules, written out. A bad
event never fails the batch: it becomes a ``Rejection`` with a stable code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.core.settings import Settings
from siyu.customers.identify import IdentityInput
from siyu.events import errors
from siyu.events.catalogue import EVENT_TYPES, TOUCHPOINTS, is_known_type

MAX_EVENT_ID_LENGTH = 64
MAX_IDENTITIES = 10
MAX_CHANNEL_CODE_LENGTH = 30
# The namespace of an identity may be given under its own name, as in /identify.
_NAMESPACE_FIELDS = ("namespace", "app_id", "corp_id", "platform")


@dataclass(frozen=True)
class Rejection:
    index: int
    code: str
    message: str


@dataclass(frozen=True)
class IngestPolicy:
    """How far from "now" ``occurred_at`` may be.

    Clocks on phones drift, so a little future is tolerated; older than ``max_age``
    is refused because the tracking API is for live behaviour — a historic backfill
    is an import, not a tracking call (docs/events.md).
    """

    future_tolerance: timedelta = timedelta(minutes=10)
    max_age: timedelta = timedelta(days=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestPolicy:
        return cls(
            future_tolerance=timedelta(seconds=settings.track_future_tolerance_seconds),
            max_age=timedelta(days=settings.track_max_age_days),
        )


# slots: no per-instance __dict__, so one GC-tracked object fewer per event; fewer
# survivors means fewer full collections, which scan the whole heap (bench/ingest.py
# showed 150 ms pauses).
@dataclass(slots=True)
class CheckedEvent:
    """An event whose shape is valid; identities still to be resolved."""

    index: int
    event_id: str
    type: str
    occurred_at: datetime
    identities: list[IdentityInput]
    touchpoint: str | None
    channel_code: str | None
    context: dict[str, Any]
    properties: dict[str, Any]


class _Reject(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _parse_time(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise _Reject(errors.INVALID_OCCURRED_AT, "occurred_at must be an ISO 8601 string.")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _Reject(errors.INVALID_OCCURRED_AT, "occurred_at is not ISO 8601.") from None
    if moment.tzinfo is None:
        # A time without an offset is ambiguous (client local time or UTC?): refuse it.
        raise _Reject(
            errors.INVALID_OCCURRED_AT, "occurred_at needs a UTC offset, e.g. +08:00 or Z."
        )
    return moment.astimezone(UTC)


# Shared IdentityInput objects (frozen, so sharing is safe): the same visitors come
# back batch after batch, and a dict hit costs a fraction of building the dataclass.
_INPUTS: dict[tuple[str, str, str | None], IdentityInput] = {}
_INPUTS_MAX = 65_536


def _identities(raw: object, *, anonymous_only: bool) -> list[IdentityInput]:
    if raw is None or raw == []:
        raise _Reject(errors.NO_IDENTITY, "Each event needs at least one identity.")
    if not isinstance(raw, list) or len(raw) > MAX_IDENTITIES:
        raise _Reject(
            errors.INVALID_EVENT, f"identities must be a list of 1–{MAX_IDENTITIES} objects."
        )
    inputs: list[IdentityInput] = []
    cache = _INPUTS
    for item in raw:
        if not isinstance(item, dict):
            raise _Reject(errors.INVALID_EVENT, "Each identity is an object with kind and value.")
        kind, value = item.get("kind"), item.get("value")
        if not isinstance(kind, str) or not isinstance(value, str):
            raise _Reject(errors.INVALID_EVENT, "Each identity needs string kind and value.")
        if anonymous_only and kind != "anonymous_id":
            raise _Reject(errors.ANONYMOUS_ONLY, "This endpoint accepts anonymous_id only.")
        namespace = None
        # Most identities (anonymous ids) have just kind and value: skip the field scan.
        if len(item) > 2:
            for field in _NAMESPACE_FIELDS:
                candidate = item.get(field)
                if isinstance(candidate, str) and candidate:
                    namespace = candidate
                    break
        key = (kind, value, namespace)
        found = cache.get(key)
        if found is None:
            found = IdentityInput(kind=kind, value=value, namespace=namespace)
            if len(cache) >= _INPUTS_MAX:
                cache.clear()
            cache[key] = found
        inputs.append(found)
    return inputs


def check_event(
    index: int,
    raw: object,
    *,
    now: datetime,
    policy: IngestPolicy,
    need_identities: bool = True,
    anonymous_only: bool = False,
) -> CheckedEvent | Rejection:
    try:
        return _check(
            index,
            raw,
            now + policy.future_tolerance,
            now - policy.max_age,
            policy,
            need_identities,
            anonymous_only,
        )
    except _Reject as problem:
        return Rejection(index, problem.code, problem.message)


def check_events(
    events: Iterable[object],
    *,
    now: datetime,
    policy: IngestPolicy,
    need_identities: bool = True,
    anonymous_only: bool = False,
) -> tuple[list[CheckedEvent], list[Rejection]]:
    """``check_event`` for a whole batch: (good events, rejections), both in order."""
    # The window bounds are computed once per batch rather than once per event.
    latest = now + policy.future_tolerance
    earliest = now - policy.max_age
    checked: list[CheckedEvent] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(events):
        try:
            checked.append(
                _check(index, raw, latest, earliest, policy, need_identities, anonymous_only)
            )
        except _Reject as problem:
            rejected.append(Rejection(index, problem.code, problem.message))
    return checked, rejected


def _check(
    index: int,
    raw: object,
    latest: datetime,
    earliest: datetime,
    policy: IngestPolicy,
    need_identities: bool,
    anonymous_only: bool,
) -> CheckedEvent:
    if not isinstance(raw, dict):
        raise _Reject(errors.INVALID_EVENT, "Each event must be a JSON object.")
    get = raw.get
    event_id = get("event_id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise _Reject(
            errors.INVALID_EVENT_ID, f"event_id must be a string of 1–{MAX_EVENT_ID_LENGTH}."
        )
    event_type = get("type")
    # The catalogue set first: is_known_type's regex only for custom types.
    if not isinstance(event_type, str) or (
        event_type not in EVENT_TYPES and not is_known_type(event_type)
    ):
        raise _Reject(
            errors.INVALID_TYPE,
            f"Unknown event type {event_type!r}; see GET /api/v1/event-types "
            "or use the custom. prefix.",
        )
    occurred_at = _parse_time(get("occurred_at"))
    if occurred_at > latest:
        raise _Reject(errors.OCCURRED_IN_FUTURE, "occurred_at is in the future.")
    if occurred_at < earliest:
        raise _Reject(
            errors.OCCURRED_TOO_LONG_AGO,
            f"occurred_at is older than {policy.max_age.days} days.",
        )
    properties = get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise _Reject(errors.INVALID_PROPERTIES, "properties must be a JSON object.")
    context = get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise _Reject(errors.INVALID_CONTEXT, "context must be a JSON object.")
    context = dict(context)
    touchpoint = context.pop("touchpoint", None)
    if touchpoint is not None and touchpoint not in TOUCHPOINTS:
        raise _Reject(errors.INVALID_TOUCHPOINT, f"Unknown touchpoint {touchpoint!r}.")
    channel_code = context.pop("channel_code", None)
    if channel_code is not None and (
        not isinstance(channel_code, str) or not 0 < len(channel_code) <= MAX_CHANNEL_CODE_LENGTH
    ):
        raise _Reject(errors.UNKNOWN_CHANNEL_CODE, "channel_code is not a known code.")
    identities = (
        _identities(get("identities"), anonymous_only=anonymous_only) if need_identities else []
    )
    # Positional: keyword construction of a 9-field dataclass costs measurably more.
    return CheckedEvent(
        index,
        event_id,
        event_type,
        occurred_at,
        identities,
        touchpoint,
        channel_code or None,
        context,
        properties,
    )
