"""Request and response shapes of the tag API (groups, tags, tagging, history)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
# One request tags at most this many customers; larger sets belong in a rule tag.
MAX_TAGGING = 10_000


class TagGroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=2000)
    is_exclusive: bool = False
    sort_order: int = Field(default=0, ge=0, le=10_000)


class TagGroupUpdate(BaseModel):
    """Only the fields sent change; renaming a group renames it on its tags too."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=2000)
    is_exclusive: bool | None = None
    sort_order: int | None = Field(default=None, ge=0, le=10_000)


class TagGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    is_exclusive: bool
    sort_order: int
    tag_count: int = 0


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_name: str = Field(default="", max_length=64)
    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=2000)
    # A rule tag's holders are whoever its rule (siyu.audiences.rules) matches.
    rule: dict[str, Any] | None = None


class TagUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_name: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=2000)
    rule: dict[str, Any] | None = None


class TagOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_name: str
    name: str
    kind: str
    description: str
    rule: dict[str, Any] | None
    customer_count: int
    refreshed_at: datetime | None


class TagList(BaseModel):
    groups: list[TagGroupOut]
    items: list[TagOut]


class TaggingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[RowId] = Field(min_length=1, max_length=MAX_TAGGING)


class TaggingOut(BaseModel):
    tag_id: int
    # Customers whose tags changed (added, or removed for a removal).
    changed: int
    # Ids the caller may not tag: unknown, merged away, erased or outside their scope.
    skipped: list[int]


class TagHistoryEntry(BaseModel):
    tag_id: int
    group_name: str
    tag_name: str
    action: str
    source: str
    at: datetime


class TagHistoryOut(BaseModel):
    customer_id: int
    items: list[TagHistoryEntry]
    next_cursor: str | None = None


class TagRefreshOut(BaseModel):
    tag_id: int
    added: int
    removed: int
    customer_count: int
