"""The demo brand's bargains (砍价): an ended campaign (two weeks ago) whose bargains
reached the floor and were bought, were bought on the way down, or simply ran out of
time, and a live campaign with bargains still being cut.

Everything goes through the bargain services: helpers are customers with a reachable
identity (unionid, openid, WeCom or phone), each gets the helper coupon, purchases
are orders through checkout at the bargained price, paid through the sandbox's signed
notices. The ``order.paid`` handler's work runs inline (the dispatcher delivering the
event later finds it done: it is idempotent). Shared helpers:
``siyu.demo.campaigns.common``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.bargain import bargains, service
from siyu.campaigns.bargain.schemas import DealIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.demo.campaigns.common import (
    gather_helps,
    helper_template,
    loader,
    percent_price,
    reachable_customer,
    run_plan,
    stocked_skus,
)
from siyu.demo.offers.context import DEMO_ADDRESS, Context
from siyu.demo.offers.payments import pay
from siyu.models.bargain import Bargain, BargainDeal
from siyu.models.campaign import LifecycleStage

EXPECTED_HELPERS = 5
# Per bargain: (helpers who cut, whether the initiator buys).
ENDED_PLAN = ((5, True), (5, True), (5, True), (5, False), (3, True), (2, False), (4, False))
LIVE_PLAN = ((5, True), (4, False), (3, False), (2, True), (1, False), (0, False))


def _create(
    factory: sessionmaker[Session],
    ctx: Context,
    *,
    name: str,
    starts: datetime,
    ends: datetime,
    template_id: int,
    sku_id: int,
) -> tuple[int, int]:
    with factory() as session, session.begin():
        campaign, deal = service.create(
            session,
            ctx.actor,
            DealIn(
                campaign=CampaignFields(
                    name=name,
                    description="邀请好友帮砍，约 5 位好友砍到底价；每位帮砍好友得 5 元券。",
                    touchpoints=["mp", "community", "moments"],
                    lifecycle_stage=LifecycleStage.ACQUIRE,
                    budget_amount=1_000_000,
                    starts_at=starts,
                    ends_at=ends,
                ),
                sku_id=sku_id,
                floor_price=percent_price(session, sku_id, 30),
                expected_helpers=EXPECTED_HELPERS,
                daily_help_limit=3,
                time_limit_minutes=48 * 60,
                helper_coupon_template_id=template_id,
                stock=100,
                publish=True,
            ),
        )
        return campaign.id, deal.id


def _one(session: Session, ctx: Context, deal: BargainDeal, helpers: int, buys: bool) -> int:
    """One bargain with ``helpers`` cuts and maybe a paid purchase; returns helps made."""
    taken: set[int] = set()
    initiator = reachable_customer(session, ctx, taken)
    if initiator is None:
        return 0
    campaign = service.get(session, deal.campaign_id)[0]
    bargain = bargains.start(session, campaign, deal, initiator)
    made = gather_helps(
        session,
        ctx,
        taken,
        helpers,
        lambda helper: bargains.help_bargain(session, bargain, helper),
        max_minutes=90,
    )
    if buys:
        ctx.clock.advance(timedelta(minutes=ctx.rng.randint(5, 60)))
        order = bargains.buy(
            session,
            ctx.cipher,
            ctx.settings,
            bargain,
            initiator,
            bargains.BuyRequest(address=dict(DEMO_ADDRESS), touchpoint="mp"),
        )
        if order.total_amount > 0:
            pay(session, ctx, order)
        bargains.mark_purchased(session, order.id, ctx.clock.now())
    return made


def build(factory: sessionmaker[Session], ctx: Context) -> dict[str, int]:
    past_start = ctx.now - timedelta(days=14)
    ctx.clock.set(past_start - timedelta(hours=2))
    template_id = helper_template(factory, ctx, "砍价帮砍券 ¥5 无门槛", 500)
    with factory() as session:
        skus = stocked_skus(session, 2)
    if not skus:
        ctx.clock.set(ctx.now)
        return {"campaigns": 0}
    ended_id, ended_deal = _create(
        factory,
        ctx,
        name="上月口红砍价",
        starts=past_start,
        ends=past_start + timedelta(days=7),
        template_id=template_id,
        sku_id=skus[0],
    )
    helps = run_plan(factory, ctx, loader(BargainDeal, ended_deal), _one, ENDED_PLAN)
    live_start = ctx.now - timedelta(days=2)
    ctx.clock.set(live_start - timedelta(hours=1))
    live_id, live_deal = _create(
        factory,
        ctx,
        name="本周砍价 · 好友帮砍到底价",
        starts=live_start,
        ends=ctx.now + timedelta(days=5),
        template_id=template_id,
        sku_id=skus[-1],
    )
    ctx.clock.set(ctx.now - timedelta(hours=30))
    helps += run_plan(factory, ctx, loader(BargainDeal, live_deal), _one, LIVE_PLAN)
    ctx.clock.set(ctx.now)
    with factory() as session:
        figures = service.counters(session, [ended_id, live_id])
        started = session.scalar(select(func.count(Bargain.id))) or 0
    return {
        "campaigns": 2,
        "bargains": int(started),
        "helps": helps,
        "completed": sum(row["bargains_completed"] for row in figures.values()),
        "purchased": sum(row["bargains_purchased"] for row in figures.values()),
    }
