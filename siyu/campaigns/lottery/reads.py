"""What operators and customers see of a lottery: counters, the prize table with live
stock, the wheel, recent draws and a customer's own draws."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.lottery import draws, setup
from siyu.campaigns.lottery.schemas import (
    CampaignSummary,
    DrawOut,
    LotteryOut,
    PrizeOut,
    ShopDrawOut,
    ShopLotteryOut,
    WheelSlot,
)
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.members import benefits, points
from siyu.models.campaign import Campaign
from siyu.models.lottery import DrawOutcome, Lottery, LotteryDraw, LotteryPrize, PrizeKind
from siyu.models.order import Order

MAX_LIMIT = 200


def counters(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Live figures per lottery campaign, in one query (correlated sub-selects)."""
    if not campaign_ids:
        return {}
    won = LotteryDraw.outcome == DrawOutcome.WON.value

    def of_draws(expression: Any, *where: Any) -> Any:
        return (
            select(expression)
            .where(LotteryDraw.campaign_id == Campaign.id, *where)
            .scalar_subquery()
        )

    statement = select(
        Campaign.id,
        of_draws(func.count(LotteryDraw.id)),
        of_draws(func.count(LotteryDraw.id), won),
        of_draws(func.count(func.distinct(LotteryDraw.customer_id)), won),
        of_draws(func.count(LotteryDraw.id), LotteryDraw.outcome == DrawOutcome.FELL_BACK.value),
        of_draws(func.coalesce(func.sum(LotteryDraw.value_amount), 0)),
        of_draws(func.coalesce(func.sum(LotteryDraw.points_cost), 0)),
        select(func.coalesce(func.sum(LotteryPrize.stock_left), 0))
        .where(LotteryPrize.campaign_id == Campaign.id, LotteryPrize.kind != PrizeKind.THANKS)
        .scalar_subquery(),
    ).where(Campaign.id.in_(list(campaign_ids)))
    return {
        row[0]: {
            "draws": int(row[1] or 0),
            "wins": int(row[2] or 0),
            "winners": int(row[3] or 0),
            "fell_back": int(row[4] or 0),
            "cost_amount": int(row[5] or 0),
            "points_spent": int(row[6] or 0),
            "prizes_left": int(row[7] or 0),
        }
        for row in session.execute(statement)
    }


def campaign_summary(campaign: Campaign) -> CampaignSummary:
    return CampaignSummary(
        id=campaign.id,
        public_id=campaign.public_id,
        name=campaign.name,
        description=campaign.description,
        status=campaign.status,
        phase=phases.phase_of(campaign).value,
        warmup_at=campaign.warmup_at,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        closes_at=campaign.closes_at,
    )


def prize_out(prize: LotteryPrize) -> PrizeOut:
    return PrizeOut(
        id=prize.id,
        position=prize.position,
        name=prize.name,
        kind=PrizeKind(prize.kind),
        probability=prize.probability,
        stock_total=prize.stock_total,
        stock_left=prize.stock_left,
        won=prize.stock_total - prize.stock_left,
        coupon_template_id=prize.coupon_template_id,
        points_amount=prize.points_amount,
        sku_id=prize.sku_id,
        value_amount=prize.value_amount,
    )


def lottery_out(
    session: Session,
    campaign: Campaign,
    lottery: Lottery,
    figures: dict[str, int] | None = None,
) -> LotteryOut:
    prizes = setup.prizes_of(session, lottery.id)
    return LotteryOut(
        campaign=campaign_summary(campaign),
        chances_per_day=lottery.chances_per_day,
        member_day_extra_chances=lottery.member_day_extra_chances,
        points_cost=lottery.points_cost,
        claim_days=lottery.claim_days,
        prize_table_version=lottery.prize_table_version,
        prize_table_hash=lottery.prize_table_hash,
        thanks_probability=setup.thanks_probability(prizes),
        prizes=[prize_out(prize) for prize in prizes],
        counters=figures
        if figures is not None
        else counters(session, [campaign.id]).get(campaign.id, {}),
    )


def list_lotteries(session: Session, *, limit: int = 100) -> list[tuple[Campaign, Lottery]]:
    rows = session.execute(
        select(Campaign, Lottery)
        .join(Lottery, Lottery.campaign_id == Campaign.id)
        .order_by(Campaign.starts_at.desc(), Campaign.id.desc())
        .limit(min(max(limit, 1), MAX_LIMIT))
    )
    return [(row[0], row[1]) for row in rows]


def recent_draws(session: Session, campaign_id: int, *, limit: int = 50) -> list[LotteryDraw]:
    return list(
        session.scalars(
            select(LotteryDraw)
            .where(LotteryDraw.campaign_id == campaign_id)
            .order_by(LotteryDraw.id.desc())
            .limit(min(max(limit, 1), MAX_LIMIT))
        )
    )


def draw_out(row: LotteryDraw) -> DrawOut:
    return DrawOut(
        public_id=row.public_id,
        customer_id=row.customer_id,
        day=row.day.isoformat(),
        random_value=row.random_value,
        prize_table_version=row.prize_table_version,
        prize_table_hash=row.prize_table_hash,
        drawn_prize_id=row.drawn_prize_id,
        prize_id=row.prize_id,
        outcome=row.outcome,
        kind=row.kind,
        prize_name=row.prize_name,
        fallback_reason=row.fallback_reason,
        granted=dict(row.granted or {}),
        points_cost=row.points_cost,
        value_amount=row.value_amount,
        claim_status=row.claim_status,
        order_id=row.order_id,
        created_at=row.created_at,
    )


def wheel(prizes: Sequence[LotteryPrize]) -> list[WheelSlot]:
    """The wheel's slots: the prizes in order, plus a "thanks" slot unless the operator
    listed one (every draw must have a slot to stop on)."""
    slots = [
        WheelSlot(position=prize.position, name=prize.name, kind=PrizeKind(prize.kind))
        for prize in prizes
    ]
    if not any(prize.kind == PrizeKind.THANKS for prize in prizes):
        slots.append(WheelSlot(position=len(slots), name=draws.THANKS_NAME, kind=PrizeKind.THANKS))
    return slots


def slot_of(row: LotteryDraw, prizes: Sequence[LotteryPrize]) -> int:
    by_id = {prize.id: prize for prize in prizes}
    if row.outcome == DrawOutcome.WON and row.prize_id in by_id:
        return by_id[row.prize_id].position
    drawn = by_id.get(row.drawn_prize_id or 0)
    if drawn is not None and drawn.kind == PrizeKind.THANKS:
        return drawn.position
    for prize in prizes:
        if prize.kind == PrizeKind.THANKS:
            return prize.position
    return len(prizes)


def shop_lottery(
    session: Session, campaign: Campaign, lottery: Lottery, customer_id: int
) -> ShopLotteryOut:
    now = clock.now()
    chances = draws.chances_for(session, lottery, customer_id, now)
    used = draws.used_today(session, lottery.id, customer_id, draws.today(now))
    balance, _frozen = points.balance(session, customer_id)
    return ShopLotteryOut(
        public_id=campaign.public_id,
        name=campaign.name,
        description=campaign.description,
        phase=phases.phase_of(campaign, now).value,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        slots=wheel(setup.prizes_of(session, lottery.id)),
        chances_per_day=lottery.chances_per_day,
        chances_today=chances,
        chances_left=max(chances - used, 0),
        member_day=benefits.is_member_day(session, customer_id, now),
        points_cost=lottery.points_cost,
        points_balance=balance,
    )


def customer_draws(
    session: Session,
    customer_id: int,
    *,
    campaign_id: int | None = None,
    won_only: bool = False,
    limit: int = 50,
) -> list[LotteryDraw]:
    statement = (
        select(LotteryDraw)
        .where(LotteryDraw.customer_id == customer_id)
        .order_by(LotteryDraw.id.desc())
        .limit(min(max(limit, 1), MAX_LIMIT))
    )
    if campaign_id is not None:
        statement = statement.where(LotteryDraw.campaign_id == campaign_id)
    if won_only:
        statement = statement.where(LotteryDraw.outcome == DrawOutcome.WON.value)
    return list(session.scalars(statement))


def shop_draws(
    session: Session, rows: Sequence[LotteryDraw], *, chances_left: int | None = None
) -> list[ShopDrawOut]:
    campaign_ids = {row.campaign_id for row in rows}
    campaigns = {
        row.id: row
        for row in session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)))
    }
    prizes: dict[int, list[LotteryPrize]] = {}
    for prize in session.scalars(
        select(LotteryPrize)
        .where(LotteryPrize.campaign_id.in_(campaign_ids))
        .order_by(LotteryPrize.position)
    ):
        prizes.setdefault(prize.campaign_id, []).append(prize)
    order_ids = [row.order_id for row in rows if row.order_id is not None]
    orders = {
        row.id: row.public_id
        for row in session.execute(select(Order.id, Order.public_id).where(Order.id.in_(order_ids)))
    }
    return [
        ShopDrawOut(
            public_id=row.public_id,
            campaign_public_id=campaigns[row.campaign_id].public_id,
            campaign_name=campaigns[row.campaign_id].name,
            outcome=row.outcome,
            kind=row.kind,
            prize_name=row.prize_name,
            slot=slot_of(row, prizes.get(row.campaign_id, [])),
            fell_back=row.outcome == DrawOutcome.FELL_BACK,
            fallback_reason=row.fallback_reason,
            coupon_code=(row.granted or {}).get("coupon_code"),
            points=(row.granted or {}).get("points"),
            points_cost=row.points_cost,
            claim_status=row.claim_status,
            claim_deadline=row.claim_deadline,
            order_public_id=orders.get(row.order_id) if row.order_id else None,
            chances_left=chances_left,
            created_at=row.created_at,
        )
        for row in rows
    ]
