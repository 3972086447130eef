"""Operator API of the referral programme under /api/v1/campaigns/referral.

Programmes, settings, commission rules, promoters (review, guides), commissions and
withdrawals need ``campaigns.manage``; moving a withdrawal (approve / pay / reject /
fail) needs ``referral.payout``. Guides who are promoters read their own account and
withdraw through ``/me`` with their own staff session. Publishing and cancelling go
through /api/v1/campaigns/{id}.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path

from siyu.campaigns.referral import (
    commissions,
    presenters,
    programme,
    promoters,
    rules,
    withdrawals,
)
from siyu.campaigns.referral.errors import NotAPromoter
from siyu.campaigns.referral.schemas import (
    CommissionList,
    GuideIn,
    PayIn,
    ProgrammeIn,
    ProgrammeOut,
    PromoterList,
    PromoterOut,
    ReviewIn,
    RuleIn,
    RuleOut,
    SettingsUpdate,
    WithdrawalList,
    WithdrawalOut,
    WithdrawIn,
)
from siyu.campaigns.registry import service as registry
from siyu.core.http import SessionDep
from siyu.models.campaign import CampaignKind
from siyu.models.referral import CommissionStatus, Promoter, PromoterStatus, WithdrawalStatus
from siyu.staff.auth import PrincipalDep, require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/campaigns/referral", tags=["referral"])

Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]
Payer = Annotated[Principal, Depends(require(Permission.REFERRAL_PAYOUT))]
PublicId = Annotated[str, Path(min_length=1, max_length=40)]


@router.post("", response_model=ProgrammeOut, status_code=201)
def create_programme(body: ProgrammeIn, session: SessionDep, principal: Manager) -> ProgrammeOut:
    campaign = programme.create(session, principal, body)
    return presenters.programme_out(session, campaign)


@router.get("", response_model=list[ProgrammeOut])
def list_programmes(session: SessionDep, _principal: Manager) -> list[ProgrammeOut]:
    rows = registry.list_campaigns(session, kind=CampaignKind.REFERRAL, limit=50)
    return [presenters.programme_out(session, row) for row in rows]


@router.get("/{campaign_id:int}", response_model=ProgrammeOut)
def get_programme(campaign_id: int, session: SessionDep, _principal: Manager) -> ProgrammeOut:
    campaign = registry.get(session, campaign_id, kind=CampaignKind.REFERRAL)
    return presenters.programme_out(session, campaign)


@router.patch("/{campaign_id:int}/settings", response_model=ProgrammeOut)
def update_settings(
    campaign_id: int, body: SettingsUpdate, session: SessionDep, principal: Manager
) -> ProgrammeOut:
    programme.update_settings(session, principal, campaign_id, body)
    return presenters.programme_out(session, registry.get(session, campaign_id))


@router.put("/{campaign_id:int}/rules", response_model=RuleOut)
def put_rule(campaign_id: int, body: RuleIn, session: SessionDep, principal: Manager) -> RuleOut:
    registry.get(session, campaign_id, kind=CampaignKind.REFERRAL)
    return presenters.rule_out(rules.put(session, principal, campaign_id, body))


@router.delete("/{campaign_id:int}/rules/{rule_id:int}", status_code=204)
def delete_rule(campaign_id: int, rule_id: int, session: SessionDep, principal: Manager) -> None:
    rules.remove(session, principal, campaign_id, rule_id)


@router.get("/promoters", response_model=PromoterList)
def list_promoters(
    session: SessionDep, _principal: Manager, status: PromoterStatus | None = None
) -> PromoterList:
    rows = promoters.list_promoters(session, status=status)
    return PromoterList(items=presenters.promoters_out(session, rows))


@router.post("/promoters/guides", response_model=PromoterOut, status_code=201)
def enrol_guide(body: GuideIn, session: SessionDep, principal: Manager) -> PromoterOut:
    promoter = promoters.enrol_guide(session, principal, body.staff_id)
    return presenters.promoter_out(session, promoter)


@router.post("/promoters/{public_id}/{action}", response_model=PromoterOut)
def review_promoter(
    public_id: PublicId,
    action: Literal["approve", "reject", "suspend", "reinstate"],
    body: ReviewIn,
    session: SessionDep,
    principal: Manager,
) -> PromoterOut:
    promoter = promoters.by_public_id(session, public_id)
    promoters.review(session, principal, promoter, action, note=body.note)
    return presenters.promoter_out(session, promoter)


@router.get("/commissions", response_model=CommissionList)
def list_commissions(
    session: SessionDep,
    _principal: Manager,
    campaign_id: int | None = None,
    status: CommissionStatus | None = None,
) -> CommissionList:
    rows = commissions.list_commissions(session, campaign_id=campaign_id, status=status)
    return CommissionList(items=presenters.commissions_out(session, rows))


@router.get("/withdrawals", response_model=WithdrawalList)
def list_withdrawals(
    session: SessionDep, _principal: Manager, status: WithdrawalStatus | None = None
) -> WithdrawalList:
    rows = withdrawals.list_withdrawals(session, status=status)
    return WithdrawalList(items=presenters.withdrawals_out(session, rows))


def _withdrawal_out(session: SessionDep, public_id: str) -> WithdrawalOut:
    return presenters.withdrawals_out(session, [withdrawals.get(session, public_id)])[0]


@router.post("/withdrawals/{public_id}/approve", response_model=WithdrawalOut)
def approve_withdrawal(public_id: PublicId, session: SessionDep, principal: Payer) -> WithdrawalOut:
    withdrawals.approve(session, principal, withdrawals.get(session, public_id))
    return _withdrawal_out(session, public_id)


@router.post("/withdrawals/{public_id}/pay", response_model=WithdrawalOut)
def pay_withdrawal(
    public_id: PublicId, body: PayIn, session: SessionDep, principal: Payer
) -> WithdrawalOut:
    withdrawal = withdrawals.get(session, public_id)
    withdrawals.pay(session, principal, withdrawal, payout_reference=body.payout_reference)
    return _withdrawal_out(session, public_id)


@router.post("/withdrawals/{public_id}/reject", response_model=WithdrawalOut)
def reject_withdrawal(
    public_id: PublicId, body: ReviewIn, session: SessionDep, principal: Payer
) -> WithdrawalOut:
    withdrawals.reject(session, principal, withdrawals.get(session, public_id), note=body.note)
    return _withdrawal_out(session, public_id)


@router.post("/withdrawals/{public_id}/fail", response_model=WithdrawalOut)
def fail_withdrawal(
    public_id: PublicId, body: ReviewIn, session: SessionDep, principal: Payer
) -> WithdrawalOut:
    withdrawals.fail(session, principal, withdrawals.get(session, public_id), note=body.note)
    return _withdrawal_out(session, public_id)


def _guide_promoter(session: SessionDep, principal: Principal) -> Promoter:
    promoter = (
        promoters.of_staff(session, principal.staff_id) if principal.staff_id is not None else None
    )
    if promoter is None or promoter.status != PromoterStatus.ACTIVE:
        raise NotAPromoter()
    return promoter


@router.get("/me", response_model=PromoterOut)
def my_account(session: SessionDep, principal: PrincipalDep) -> PromoterOut:
    """A guide's own promoter account (code, balances)."""
    return presenters.promoter_out(session, _guide_promoter(session, principal))


@router.post("/me/withdrawals", response_model=WithdrawalOut, status_code=201)
def guide_withdraw(body: WithdrawIn, session: SessionDep, principal: PrincipalDep) -> WithdrawalOut:
    withdrawal = withdrawals.request(session, _guide_promoter(session, principal), body.amount)
    return presenters.withdrawals_out(session, [withdrawal])[0]
