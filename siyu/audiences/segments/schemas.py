"""Request and response shapes of the segment API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.audience import SegmentKind, SegmentStatus


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    kind: SegmentKind = SegmentKind.RULE
    # Required for a rule segment, refused for a static list (siyu.audiences.rules).
    rule: dict[str, Any] | None = None
    # Minutes between scheduled refreshes; null refreshes on demand only.
    refresh_minutes: int | None = Field(default=60, ge=5, le=10_080)


class SegmentUpdate(BaseModel):
    """Only the fields sent change; the kind never does."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    rule: dict[str, Any] | None = None
    refresh_minutes: int | None = Field(default=None, ge=5, le=10_080)


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    kind: SegmentKind
    status: SegmentStatus
    rule: dict[str, Any] | None
    refresh_minutes: int | None
    next_refresh_at: datetime | None
    refreshed_at: datetime | None
    member_count: int
    last_error: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class SegmentList(BaseModel):
    items: list[SegmentOut]


class SegmentRefreshOut(BaseModel):
    segment_id: int
    ok: bool
    member_count: int
    entered: int
    exited: int
    seconds: float
    error: str | None = None


class SegmentSizeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    size: int
    entered: int
    exited: int
    seconds: float


class SegmentSizes(BaseModel):
    segment_id: int
    items: list[SegmentSizeOut]


class MemberOut(BaseModel):
    customer_id: int
    name: str | None
    masked: bool
    tier: str | None
    rfm_group: str | None
    aipl_stage: str | None
    ops_stage: str | None
    guide_id: int | None
    entered_at: datetime


class MemberPage(BaseModel):
    segment_id: int
    items: list[MemberOut]
    next_cursor: str | None = None


class ReachOut(BaseModel):
    segment_id: int
    # Members the caller can see; each channel counts members reachable through it.
    members: int
    oa: int
    mp_subscribe: int
    wecom: int
    any_channel: int


class UploadProblem(BaseModel):
    row: int
    value: str
    # invalid_id, unknown, erased, merged (imported as its survivor), duplicate
    code: str
    survivor_id: int | None = None


class UploadOut(BaseModel):
    segment_id: int
    rows: int
    imported: int
    entered: int
    exited: int
    member_count: int
    problems: list[UploadProblem]
    # Only the first MAX_PROBLEMS problems are listed; the counts cover every row.
    problems_truncated: bool
    problem_counts: dict[str, int]
