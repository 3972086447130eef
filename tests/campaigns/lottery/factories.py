"""Lottery factories (keyword-only, typed): a lottery made through its service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.lottery import setup
from siyu.campaigns.lottery.schemas import LotteryIn, PrizeIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock
from siyu.models.campaign import Campaign, LifecycleStage
from siyu.models.lottery import Lottery, LotteryDraw, LotteryPrize, LotteryTally
from tests.factories import make_staff, principal_of


def make_lottery(
    session: Session,
    *,
    prizes: list[dict[str, Any]],
    starts_in: timedelta = timedelta(hours=-1),
    lasts: timedelta = timedelta(days=2),
    chances_per_day: int = 1,
    member_day_extra_chances: int = 0,
    points_cost: int = 0,
    publish: bool = True,
    name: str = "会员日大转盘",
) -> tuple[Campaign, Lottery]:
    now = clock.now()
    starts = now + starts_in
    body = LotteryIn(
        campaign=CampaignFields(
            name=name,
            lifecycle_stage=LifecycleStage.RETAIN,
            starts_at=starts,
            ends_at=starts + lasts,
        ),
        publish=publish,
        chances_per_day=chances_per_day,
        member_day_extra_chances=member_day_extra_chances,
        points_cost=points_cost,
        prizes=[PrizeIn(**prize) for prize in prizes],
    )
    return setup.create(session, principal_of(make_staff(session)), body)


def coupon_prize(
    template_id: int, *, probability: int, stock: int, name: str = "10 元券"
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "coupon",
        "probability": probability,
        "stock": stock,
        "coupon_template_id": template_id,
    }


def counts(session: Session) -> tuple[int, int, list[int]]:
    """(draw rows, tally draws, stock left per prize): what a refusal must not change."""
    draws = session.scalar(select(func.count()).select_from(LotteryDraw)) or 0
    tallies = session.scalar(select(func.coalesce(func.sum(LotteryTally.draws), 0))) or 0
    stock = list(session.scalars(select(LotteryPrize.stock_left).order_by(LotteryPrize.id)))
    return int(draws), int(tallies), stock
