"""Pydantic shapes of the customer 360, search, timeline and privacy endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class IdentityOut(BaseModel):
    kind: str
    namespace: str
    # Phones are masked (138****5678) unless the caller holds customers.pii.
    value: str
    masked: bool
    created_at: datetime
    last_seen_at: datetime


class TouchOut(BaseModel):
    touchpoint: str | None
    channel_code_id: int | None
    channel_code: str | None
    channel_code_name: str | None
    at: datetime | None


class GuideOut(BaseModel):
    id: int
    username: str
    display_name: str


class TagOut(BaseModel):
    id: int
    group: str
    name: str
    source: str
    added_at: datetime


class MergeOut(BaseModel):
    survivor_id: int
    merged_id: int
    actor: str
    reason: str
    moved: dict[str, Any]
    created_at: datetime


class CustomerProfile(BaseModel):
    id: int
    status: str
    # Set when the id asked for was merged into this customer.
    resolved_from: int | None = None
    pseudonym: str | None
    # True when personal data below is shown in full (the caller holds customers.pii).
    pii_visible: bool
    name: str | None
    gender: str | None
    birthday: str | None
    city: str | None
    consent: dict[str, Any]
    first_touch: TouchOut
    last_touch: TouchOut
    guide: GuideOut | None
    store_id: int | None
    created_at: datetime
    last_seen_at: datetime | None
    identities: list[IdentityOut]
    tags: list[TagOut]
    merges: list[MergeOut]
    # Counters registered by domains (siyu.customers.profile_sections).
    sections: dict[str, dict[str, Any]]


class CustomerSummary(BaseModel):
    id: int
    status: str
    name: str | None
    phone: str | None
    guide: GuideOut | None
    first_touchpoint: str | None
    last_touchpoint: str | None
    last_touch_at: datetime | None
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerSummary]
    # Pass back as ?cursor= for the next page; null on the last page.
    next_cursor: str | None


class TimelineEvent(BaseModel):
    id: int
    event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    touchpoint: str | None
    channel_code_id: int | None
    context: dict[str, Any]
    properties: dict[str, Any]


class TimelinePage(BaseModel):
    customer_id: int
    items: list[TimelineEvent]
    next_cursor: str | None


class EraseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class EraseResult(BaseModel):
    customer_id: int
    status: str
    pseudonym: str
    identities_removed: int
    sessions_removed: int
    staff_links_removed: int
    merged_records_scrubbed: int
