"""Request and response shapes of the tracking API.

The request models document the contract in OpenAPI only: the batch is parsed by
hand (``parse_batch``) so that one bad event is a per-event rejection, not a 422 for
the whole batch, and so that 100 k events/s are not spent in model validation.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from siyu.core.errors import ValidationFailed
from siyu.events.errors import BatchTooLarge
from siyu.events.service import MAX_BATCH_BYTES, MAX_BATCH_EVENTS


class IdentityIn(BaseModel):
    kind: str = Field(examples=["anonymous_id"])
    value: str
    app_id: str | None = None
    corp_id: str | None = None
    platform: str | None = None


class EventIn(BaseModel):
    event_id: str = Field(max_length=64, description="Made by the client; repeats are ignored.")
    type: str = Field(examples=["product_view"])
    occurred_at: str = Field(examples=["2026-11-22T15:04:05+08:00"])
    identities: list[IdentityIn] = Field(default_factory=list)
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="touchpoint, channel_code, scene, page, guide, campaign …",
    )
    properties: dict[str, Any] = Field(default_factory=dict)


class TrackBatchIn(BaseModel):
    events: list[EventIn] = Field(max_length=MAX_BATCH_EVENTS)


class RejectionOut(BaseModel):
    index: int
    code: str
    message: str


class TrackResultOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectionOut]


class InvalidBatch(ValidationFailed):
    code = "event.invalid_batch"
    message = 'The body must be a JSON object with an "events" list.'


def parse_batch(
    body: bytes, *, max_events: int = MAX_BATCH_EVENTS, max_bytes: int = MAX_BATCH_BYTES
) -> tuple[list[Any], dict[str, Any]]:
    """The events list and the whole document; whole-body problems raise (413 / 422).

    The content type is not checked: ``navigator.sendBeacon`` sends text/plain so
    that the browser needs no CORS preflight.
    """
    if len(body) > max_bytes:
        raise BatchTooLarge(data={"max_bytes": max_bytes, "max_events": max_events})
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidBatch("The body is not valid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise InvalidBatch()
    events: list[Any] = document["events"]
    if len(events) > max_events:
        raise BatchTooLarge(
            f"A batch holds at most {max_events} events.",
            data={"max_bytes": max_bytes, "max_events": max_events},
        )
    return events, document


TRACK_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": TrackBatchIn.model_json_schema()}},
    }
}
