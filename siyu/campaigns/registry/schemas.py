"""Request and response shapes of the campaign registry. Money is integer fen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.campaign import CampaignKind, LifecycleStage

Fen = Annotated[int, Field(ge=0, le=100_000_000_00)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class CampaignFields(BaseModel):
    """What every campaign has, whatever its mechanic. Cross-field rules (dates in
    order, known touchpoints) live in ``siyu.campaigns.registry.service``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    touchpoints: list[str] = Field(default_factory=lambda: ["mp"], min_length=1, max_length=12)
    lifecycle_stage: LifecycleStage
    budget_amount: Fen | None = None
    warmup_at: datetime | None = None
    starts_at: datetime
    ends_at: datetime
    closes_at: datetime | None = None
    owner_staff_id: RowId | None = None
    holdout_percent: int = Field(default=0, ge=0, le=50)
    # Fen spent outside siyu (ads, design, staff time); campaign ROI counts it as cost.
    fixed_cost_amount: Fen = 0


class CampaignUpdate(BaseModel):
    """A partial change; dates and the holdout lock once the campaign has started."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    touchpoints: list[str] | None = Field(default=None, min_length=1, max_length=12)
    lifecycle_stage: LifecycleStage | None = None
    budget_amount: Fen | None = None
    warmup_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    closes_at: datetime | None = None
    owner_staff_id: RowId | None = None
    holdout_percent: int | None = Field(default=None, ge=0, le=50)
    fixed_cost_amount: Fen | None = None


class CampaignOut(BaseModel):
    id: int
    public_id: str
    name: str
    kind: CampaignKind
    description: str
    touchpoints: list[str]
    lifecycle_stage: LifecycleStage
    budget_amount: int | None
    status: str
    phase: str
    warmup_at: datetime | None
    starts_at: datetime
    ends_at: datetime
    closes_at: datetime | None
    owner_staff_id: int | None
    holdout_percent: int
    fixed_cost_amount: int
    created_by: str
    created_at: datetime
    # Live figures from the mechanic (sold, groups filled, prizes left …).
    counters: dict[str, Any] = Field(default_factory=dict)


class CampaignList(BaseModel):
    items: list[CampaignOut]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class ShopCampaignOut(BaseModel):
    """What a customer sees of a campaign: no budget, owner or holdout."""

    public_id: str
    name: str
    kind: CampaignKind
    description: str
    phase: str
    warmup_at: datetime | None
    starts_at: datetime
    ends_at: datetime
    # The storefront page of the mechanic, e.g. /shop/campaigns/flash-sale/cmp_…
    url: str


class ShopCampaignList(BaseModel):
    items: list[ShopCampaignOut]
