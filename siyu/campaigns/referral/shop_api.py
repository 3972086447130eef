"""Storefront referral routes under /api/shop/v1/campaigns/referral: the promoter
centre (code, link, earnings, orders, team), applying, binding to a share code, and
withdrawing. Every route needs the customer's session."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from siyu.campaigns.referral import (
    binding,
    commissions,
    presenters,
    programme,
    promoters,
    withdrawals,
)
from siyu.campaigns.referral.schemas import (
    ApplyIn,
    BindIn,
    BindingOut,
    CentreOut,
    CommissionList,
    PromoterOut,
    ShareOut,
    TeamMemberOut,
    WithdrawalList,
    WithdrawalOut,
    WithdrawIn,
)
from siyu.core.http import SessionDep
from siyu.customers.sessions import CurrentCustomer
from siyu.models.referral import PromoterStatus, ReferralAttribution

router = APIRouter(prefix="/api/shop/v1/campaigns/referral", tags=["storefront"])


@router.get("/centre", response_model=CentreOut)
def centre(customer: CurrentCustomer, session: SessionDep) -> CentreOut:
    live = programme.live(session)
    promoter = promoters.of_customer(session, customer.customer_id)
    minimum = live.min_withdrawal_amount if live else withdrawals.DEFAULT_MINIMUM
    if promoter is None:
        return CentreOut(
            programme_live=live is not None,
            promoter=None,
            share=None,
            team=[],
            orders=0,
            min_withdrawal_amount=minimum,
        )
    orders = session.scalar(
        select(func.count())
        .select_from(ReferralAttribution)
        .where(ReferralAttribution.promoter_id == promoter.id)
    )
    active = promoter.status == PromoterStatus.ACTIVE
    return CentreOut(
        programme_live=live is not None,
        promoter=presenters.promoter_out(session, promoter),
        share=ShareOut(code=promoter.code, share_url=promoters.share_url(promoter.code))
        if active
        else None,
        team=[
            TeamMemberOut(
                code=member.code,
                display_name=member.display_name,
                status=member.status,
                joined_at=member.created_at,
            )
            for member in promoters.team(session, promoter)
        ],
        orders=int(orders or 0),
        min_withdrawal_amount=minimum,
    )


@router.post("/apply", response_model=PromoterOut, status_code=201)
def apply(body: ApplyIn, customer: CurrentCustomer, session: SessionDep) -> PromoterOut:
    promoter = promoters.apply(session, customer.customer_id, body)
    return presenters.promoter_out(session, promoter)


@router.post("/bind", response_model=BindingOut)
def bind(body: BindIn, customer: CurrentCustomer, session: SessionDep) -> BindingOut:
    """What a visit with ``?ref=<code>`` does once the visitor is signed in."""
    row = binding.bind(session, customer.customer_id, body.code)
    code = promoters.codes_of(session, {row.promoter_id})[row.promoter_id]
    return BindingOut(promoter_code=code, bound_at=row.bound_at, expires_at=row.expires_at)


@router.get("/commissions", response_model=CommissionList)
def my_commissions(customer: CurrentCustomer, session: SessionDep) -> CommissionList:
    promoter = promoters.of_customer(session, customer.customer_id)
    rows = commissions.for_promoter(session, promoter.id) if promoter else []
    return CommissionList(items=presenters.commissions_out(session, rows))


@router.get("/withdrawals", response_model=WithdrawalList)
def my_withdrawals(customer: CurrentCustomer, session: SessionDep) -> WithdrawalList:
    promoter = promoters.of_customer(session, customer.customer_id)
    rows = withdrawals.list_withdrawals(session, promoter_id=promoter.id) if promoter else []
    return WithdrawalList(items=presenters.withdrawals_out(session, rows))


@router.post("/withdrawals", response_model=WithdrawalOut, status_code=201)
def withdraw(body: WithdrawIn, customer: CurrentCustomer, session: SessionDep) -> WithdrawalOut:
    promoter = promoters.withdrawer_of_customer(session, customer.customer_id)
    withdrawal = withdrawals.request(session, promoter, body.amount)
    return presenters.withdrawals_out(session, [withdrawal])[0]
