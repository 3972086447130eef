"""Operator API of the lottery under /api/v1/campaigns/lottery (``campaigns.manage``).

Create a lottery (its registry row and prize table in one transaction), read it with
live counters and per-prize stock, change its rules (any time before the end) or its
prize table (before the start), add stock to a prize, and read the draw records.
Publishing, cancelling and the common fields go through /api/v1/campaigns/{id}.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.campaigns.lottery import reads, setup
from siyu.campaigns.lottery.schemas import (
    DrawList,
    LotteryIn,
    LotteryList,
    LotteryOut,
    LotteryUpdate,
    PrizeOut,
    RestockIn,
)
from siyu.core.http import SessionDep
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/campaigns/lottery", tags=["lottery"])
Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]
Limit = Annotated[int, Query(ge=1, le=reads.MAX_LIMIT)]


@router.post("", response_model=LotteryOut, status_code=201)
def create_lottery(body: LotteryIn, session: SessionDep, principal: Manager) -> LotteryOut:
    campaign, lottery = setup.create(session, principal, body)
    return reads.lottery_out(session, campaign, lottery)


@router.get("", response_model=LotteryList)
def list_lotteries(session: SessionDep, _principal: Manager, limit: Limit = 100) -> LotteryList:
    rows = reads.list_lotteries(session, limit=limit)
    figures = reads.counters(session, [campaign.id for campaign, _lottery in rows])
    return LotteryList(
        items=[
            reads.lottery_out(session, campaign, lottery, figures.get(campaign.id, {}))
            for campaign, lottery in rows
        ]
    )


@router.get("/{public_id}", response_model=LotteryOut)
def get_lottery(public_id: str, session: SessionDep, _principal: Manager) -> LotteryOut:
    campaign, lottery = setup.find(session, public_id)
    return reads.lottery_out(session, campaign, lottery)


@router.patch("/{public_id}", response_model=LotteryOut)
def update_lottery(
    public_id: str, body: LotteryUpdate, session: SessionDep, principal: Manager
) -> LotteryOut:
    campaign, lottery = setup.find(session, public_id)
    setup.update_lottery(session, principal, campaign, lottery, body)
    return reads.lottery_out(session, campaign, lottery)


@router.post("/{public_id}/prizes/{prize_id}/restock", response_model=PrizeOut)
def restock_prize(
    public_id: str, prize_id: int, body: RestockIn, session: SessionDep, principal: Manager
) -> PrizeOut:
    campaign, lottery = setup.find(session, public_id)
    prize = setup.restock(session, principal, campaign, lottery, prize_id, body.quantity)
    return reads.prize_out(prize)


@router.get("/{public_id}/draws", response_model=DrawList)
def list_draws(
    public_id: str, session: SessionDep, _principal: Manager, limit: Limit = 50
) -> DrawList:
    campaign, _lottery = setup.find(session, public_id)
    rows = reads.recent_draws(session, campaign.id, limit=limit)
    return DrawList(items=[reads.draw_out(row) for row in rows])
