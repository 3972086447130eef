"""Request and response shapes of the referral programme. Money is integer fen;
rates are basis points (500 = 5 %)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from siyu.campaigns.registry.schemas import CampaignFields
from siyu.models.referral import BindRule, CommissionMode, RuleScope

Fen = Annotated[int, Field(ge=0, le=100_000_000_00)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ProgrammeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_approve: bool = False
    bind_rule: BindRule = BindRule.LAST
    bind_days: int = Field(default=15, ge=1, le=365)
    min_withdrawal_amount: int = Field(default=100, ge=100, le=5_000_000)
    second_level_enabled: bool = True


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_approve: bool | None = None
    bind_rule: BindRule | None = None
    bind_days: int | None = Field(default=None, ge=1, le=365)
    min_withdrawal_amount: int | None = Field(default=None, ge=100, le=5_000_000)
    second_level_enabled: bool | None = None


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: RuleScope = RuleScope.DEFAULT
    target_id: RowId | None = None
    mode: CommissionMode = CommissionMode.RATE
    level1_value: int = Field(ge=0, le=10_000_000)
    level2_value: int = Field(default=0, ge=0, le=10_000_000)


class ProgrammeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign: CampaignFields
    settings: ProgrammeSettings = Field(default_factory=ProgrammeSettings)
    default_rule: RuleIn = Field(default_factory=lambda: RuleIn(level1_value=500, level2_value=100))
    publish: bool = False


class RuleOut(BaseModel):
    id: int
    scope: RuleScope
    target_id: int | None
    mode: CommissionMode
    level1_value: int
    level2_value: int


class ProgrammeOut(BaseModel):
    campaign_id: int
    public_id: str
    name: str
    phase: str
    starts_at: datetime
    ends_at: datetime
    settings: ProgrammeSettings
    rules: list[RuleOut]
    counters: dict[str, int]


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The share code of the promoter who invited the applicant (becomes their parent).
    invite_code: str | None = Field(default=None, min_length=4, max_length=16)
    note: str = Field(default="", max_length=200)
    display_name: str = Field(default="", max_length=64)


class GuideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: RowId


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=200)


class BindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=16)


class PromoterOut(BaseModel):
    public_id: str
    code: str
    kind: str
    status: str
    display_name: str
    customer_id: int | None
    staff_id: int | None
    depth: int
    parent_code: str | None
    frozen_amount: int
    withdrawable_amount: int
    withdrawing_amount: int
    withdrawn_amount: int
    created_at: datetime
    approved_at: datetime | None


class PromoterList(BaseModel):
    items: list[PromoterOut]


class ShareOut(BaseModel):
    code: str
    # Relative to the storefront: "/shop?ref=…"; posters turn it into a QR code.
    share_url: str


class BindingOut(BaseModel):
    promoter_code: str
    bound_at: datetime
    expires_at: datetime


class CommissionOut(BaseModel):
    id: int
    order_public_id: str
    promoter_code: str
    level: int
    base_amount: int
    amount: int
    reversed_amount: int
    status: str
    rule: str
    created_at: datetime
    settled_at: datetime | None


class CommissionList(BaseModel):
    items: list[CommissionOut]


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=1, le=100_000_000_00)


class PayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payout_reference: str = Field(min_length=1, max_length=64)


class WithdrawalOut(BaseModel):
    public_id: str
    promoter_code: str
    amount: int
    status: str
    requested_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str
    paid_at: datetime | None
    payout_reference: str
    note: str


class WithdrawalList(BaseModel):
    items: list[WithdrawalOut]


class TeamMemberOut(BaseModel):
    code: str
    display_name: str
    status: str
    joined_at: datetime


class CentreOut(BaseModel):
    """The storefront promoter centre: everything the page shows in one call."""

    programme_live: bool
    promoter: PromoterOut | None
    share: ShareOut | None
    team: list[TeamMemberOut]
    orders: int
    min_withdrawal_amount: int
