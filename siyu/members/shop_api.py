"""Storefront member centre under /api/shop/v1/member: my tier and progress, my
points and their history, and the tier ladder with its benefits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from siyu.core.http import SessionDep
from siyu.core.pagination import DEFAULT_LIMIT
from siyu.customers.sessions import CurrentCustomer
from siyu.members import program, reads
from siyu.members.memberships import ladder
from siyu.members.presenters import expiring_out, shop_tier
from siyu.members.schemas import (
    ShopMemberOut,
    ShopPointsEntryOut,
    ShopPointsPage,
    ShopTierList,
)

router = APIRouter(prefix="/api/shop/v1/member", tags=["storefront"])


@router.get("", response_model=ShopMemberOut)
def my_membership(customer: CurrentCustomer, session: SessionDep) -> ShopMemberOut:
    summary = reads.summary(session, customer.customer_id)
    return ShopMemberOut(
        tier=shop_tier(summary.tier),
        next_tier=shop_tier(summary.next_tier),
        growth_value=summary.growth_value,
        period_growth=summary.period_growth,
        growth_to_next=summary.growth_to_next,
        points_available=summary.points_available,
        points_frozen=summary.points_frozen,
        expiring=expiring_out(summary.expiring),
        points_value=program.current(session).points_value,
        next_review_at=summary.next_review_at,
    )


@router.get("/points", response_model=ShopPointsPage)
def my_points(
    customer: CurrentCustomer,
    session: SessionDep,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ShopPointsPage:
    rows, next_cursor = reads.ledger_page(session, customer.customer_id, limit=limit, cursor=cursor)
    return ShopPointsPage(
        items=[
            ShopPointsEntryOut(
                kind=row.kind,
                status=row.status,
                amount=row.amount,
                balance_after=row.balance_after,
                reason=row.reason,
                expires_at=row.expires_at,
                created_at=row.created_at,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/tiers", response_model=ShopTierList)
def tier_ladder(customer: CurrentCustomer, session: SessionDep) -> ShopTierList:
    summary = reads.summary(session, customer.customer_id)
    rank = summary.tier.rank if summary.tier else None
    items = [shop_tier(tier, current_rank=rank) for tier in ladder(session)]
    return ShopTierList(items=[item for item in items if item is not None], current_rank=rank)
