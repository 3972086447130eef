"""The demo brand's assists (助力 / 0 元领): an ended campaign (ten days ago) where
friends unlocked a gift that initiators claimed as 0-yuan orders, and a live one
whose reward is a coupon issued the moment the last friend assists.

Everything goes through the assist services; helpers are customers with a reachable
identity and each gets the helper coupon; the 0-yuan orders are placed through
checkout and paid at once (total 0, no provider), like points-only exchanges.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.assist import assists, service
from siyu.campaigns.assist.schemas import DealIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.demo.campaigns.common import (
    gather_helps,
    helper_template,
    loader,
    reachable_customer,
    run_plan,
    stocked_skus,
)
from siyu.demo.offers.context import DEMO_ADDRESS, Context
from siyu.models.bargain import Assist, AssistDeal, AssistRewardKind
from siyu.models.campaign import LifecycleStage

REQUIRED = 3
# Per assist: (friends who assist, whether the initiator claims the unlocked gift).
ENDED_PLAN = ((3, True), (3, True), (3, True), (2, False), (3, False), (1, False))
LIVE_PLAN = ((3, False), (3, False), (2, False), (1, False), (0, False))


def _create(
    factory: sessionmaker[Session],
    ctx: Context,
    *,
    name: str,
    starts: datetime,
    ends: datetime,
    helper_template_id: int,
    gift_sku_id: int | None,
    reward_template_id: int | None,
) -> tuple[int, int]:
    with factory() as session, session.begin():
        campaign, deal = service.create(
            session,
            ctx.actor,
            DealIn(
                campaign=CampaignFields(
                    name=name,
                    description="3 位好友助力即可解锁；每位助力好友得 3 元券。",
                    touchpoints=["mp", "wecom", "community"],
                    lifecycle_stage=LifecycleStage.REFER,
                    budget_amount=500_000,
                    starts_at=starts,
                    ends_at=ends,
                ),
                required_assists=REQUIRED,
                reward_kind=(
                    AssistRewardKind.GIFT if gift_sku_id is not None else AssistRewardKind.COUPON
                ),
                gift_sku_id=gift_sku_id,
                reward_coupon_template_id=reward_template_id,
                reward_stock=50,
                daily_help_limit=3,
                time_limit_minutes=24 * 60,
                helper_coupon_template_id=helper_template_id,
                publish=True,
            ),
        )
        return campaign.id, deal.id


def _one(session: Session, ctx: Context, deal: AssistDeal, helpers: int, claims: bool) -> int:
    taken: set[int] = set()
    initiator = reachable_customer(session, ctx, taken)
    if initiator is None:
        return 0
    campaign = service.get(session, deal.campaign_id)[0]
    assist = assists.start(session, campaign, deal, initiator)
    made = gather_helps(
        session,
        ctx,
        taken,
        helpers,
        lambda helper: assists.help_assist(session, assist, helper),
        max_minutes=120,
    )
    if claims and assist.status == "unlocked":
        ctx.clock.advance(timedelta(minutes=ctx.rng.randint(5, 60)))
        assists.claim_gift(
            session,
            ctx.cipher,
            ctx.settings,
            assist,
            initiator,
            assists.ClaimRequest(address=dict(DEMO_ADDRESS), touchpoint="mp"),
        )
    return made


def build(factory: sessionmaker[Session], ctx: Context) -> dict[str, int]:
    past_start = ctx.now - timedelta(days=10)
    ctx.clock.set(past_start - timedelta(hours=2))
    helper_id = helper_template(factory, ctx, "助力好友券 ¥3 无门槛", 300)
    reward_id = helper_template(factory, ctx, "助力解锁券 ¥30 无门槛", 3000)
    with factory() as session:
        skus = stocked_skus(session, 3)
    if not skus:
        ctx.clock.set(ctx.now)
        return {"campaigns": 0}
    ended_id, ended_deal = _create(
        factory,
        ctx,
        name="会员日 0 元领小样",
        starts=past_start,
        ends=past_start + timedelta(days=5),
        helper_template_id=helper_id,
        gift_sku_id=skus[-1],
        reward_template_id=None,
    )
    helps = run_plan(factory, ctx, loader(AssistDeal, ended_deal), _one, ENDED_PLAN)
    live_start = ctx.now - timedelta(days=1)
    ctx.clock.set(live_start - timedelta(hours=1))
    live_id, live_deal = _create(
        factory,
        ctx,
        name="好友助力领 30 元券",
        starts=live_start,
        ends=ctx.now + timedelta(days=6),
        helper_template_id=helper_id,
        gift_sku_id=None,
        reward_template_id=reward_id,
    )
    ctx.clock.set(ctx.now - timedelta(hours=20))
    helps += run_plan(factory, ctx, loader(AssistDeal, live_deal), _one, LIVE_PLAN)
    ctx.clock.set(ctx.now)
    with factory() as session:
        figures = service.counters(session, [ended_id, live_id])
        started = session.scalar(select(func.count(Assist.id))) or 0
    return {
        "campaigns": 2,
        "assists": int(started),
        "helps": helps,
        "unlocked": sum(row["assists_unlocked"] for row in figures.values()),
        "claimed": sum(row["assist_rewards_claimed"] for row in figures.values()),
    }
