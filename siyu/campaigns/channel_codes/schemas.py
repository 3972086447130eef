"""Request and response shapes of the channel-code API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.channel_code import ChannelCodeKind


class ChannelCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: ChannelCodeKind
    touchpoint: str = Field(default="h5", max_length=32)
    target_url: str = Field(min_length=1, max_length=500)
    # Omit for a random 8-character code.
    code: str | None = Field(default=None, max_length=30)
    guide_id: int | None = None
    store_id: int | None = None
    tag_names: list[str] = Field(default_factory=list, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class PosterLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: str = Field(default="", max_length=60)
    # Centre of the QR code as fractions of the poster's width and height.
    qr_x: float = Field(default=0.5, ge=0.0, le=1.0)
    qr_y: float = Field(default=0.55, ge=0.0, le=1.0)
    # Side of the QR code as a fraction of the poster's shorter side.
    qr_size: float = Field(default=0.4, ge=0.1, le=0.9)


class ChannelCodeUpdate(BaseModel):
    """Only the fields sent change; the code value itself never does (it is printed)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: ChannelCodeKind | None = None
    touchpoint: str | None = Field(default=None, max_length=32)
    target_url: str | None = Field(default=None, min_length=1, max_length=500)
    guide_id: int | None = None
    store_id: int | None = None
    tag_names: list[str] | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None
    poster: PosterLayout | None = None


class ChannelCodeStatsOut(BaseModel):
    scans: int
    new_customers: int
    returning_customers: int
    wecom_adds: int


class ChannelCodeOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    touchpoint: str
    target_url: str
    is_active: bool
    guide_id: int | None
    store_id: int | None
    tag_names: list[str]
    note: str | None
    short_url: str
    qr_url: str
    poster_url: str
    poster: PosterLayout
    has_poster_background: bool
    created_by: str
    created_at: datetime
    stats: ChannelCodeStatsOut | None = None


class ChannelCodeList(BaseModel):
    items: list[ChannelCodeOut]


class WecomAddIdentity(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str = Field(max_length=32)
    value: str = Field(max_length=256)
    app_id: str | None = Field(default=None, max_length=64)


class WecomAddIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_userid: str = Field(min_length=1, max_length=128)
    corp_id: str = Field(min_length=1, max_length=64)
    staff_username: str = Field(min_length=1, max_length=64)
    state: str | None = Field(default=None, max_length=30)
    # Further identifiers known for the customer (unionid, phone …), resolved together.
    identities: list[WecomAddIdentity] = Field(default_factory=list, max_length=20)


class WecomAddOut(BaseModel):
    customer_id: int
    created: bool
    staff_id: int
    channel_code_id: int | None
