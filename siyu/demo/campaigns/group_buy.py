"""The demo brand's group buys: an ended campaign (three weeks ago) with filled groups
and failed ones whose members were refunded through the sandbox provider, and a live
campaign with groups still forming (and one filled).

Everything goes through the group-buy services: orders through checkout at the group
price, payments through the sandbox's signed notices, deadlines through
``settlement.conclude`` and refunds through the refunds service and the provider. The
order events' group-buy handlers run inline (the dispatcher delivering them later
finds the work done: they are idempotent).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.group_buy import deals, participation, settlement
from siyu.campaigns.group_buy.participation import Delivery
from siyu.campaigns.group_buy.schemas import DealIn, GroupBuyIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core.errors import SiyuError
from siyu.demo.campaigns.common import percent_price, random_customer, stocked_skus
from siyu.demo.offers.context import DEMO_ADDRESS, Context
from siyu.demo.offers.payments import pay
from siyu.models.campaign import LifecycleStage
from siyu.models.group_buy import GroupBuyDeal, GroupBuyGroup
from siyu.models.order import Order
from siyu.models.payment import Refund, RefundStatus
from siyu.orders import refunds

GROUP_SIZE = 3
TIME_LIMIT_MINUTES = 24 * 60
# Per group: how many members pay (the leader counts). A full group fills.
ENDED_PLAN = (3, 3, 3, 2, 1, 2)
LIVE_PLAN = (3, 2, 1, 1)


def _delivery() -> Delivery:
    return Delivery(address=dict(DEMO_ADDRESS), touchpoint="mp")


def _create(
    factory: sessionmaker[Session], ctx: Context, *, name: str, starts: datetime, ends: datetime
) -> tuple[int, list[int]]:
    with factory() as session, session.begin():
        skus = stocked_skus(session, 2)
        body = GroupBuyIn(
            campaign=CampaignFields(
                name=name,
                description="三人成团，团长更优惠；24 小时内未成团自动原路退款。",
                touchpoints=["mp", "community", "moments"],
                lifecycle_stage=LifecycleStage.ACQUIRE,
                budget_amount=2_000_000,
                starts_at=starts,
                ends_at=ends,
            ),
            deals=[
                DealIn(
                    sku_id=sku_id,
                    title=f"{name} · 三人团 {index + 1}",
                    group_price=percent_price(session, sku_id, 80),
                    leader_price=percent_price(session, sku_id, 70),
                    group_size=GROUP_SIZE,
                    time_limit_minutes=TIME_LIMIT_MINUTES,
                    stock_total=200,
                    per_customer_limit=2,
                )
                for index, sku_id in enumerate(skus)
            ],
            publish=True,
        )
        campaign, created = deals.create(session, ctx.actor, body)
        return campaign.id, [deal.id for deal in created]


def _paid(session: Session, ctx: Context, order: Order) -> None:
    pay(session, ctx, order)
    settlement.on_paid(session, order.id)


def _group(session: Session, ctx: Context, deal: GroupBuyDeal, paying: int) -> int:
    """One group with ``paying`` paid members (leader first); members made."""
    taken: set[int] = set()
    leader = random_customer(session, ctx, taken, tries=8)
    if leader is None:
        return 0
    group, order = participation.open_group(
        session, ctx.cipher, ctx.settings, leader, deal, _delivery()
    )
    _paid(session, ctx, order)
    session.refresh(group)
    made = 1
    for _ in range(paying - 1):
        friend = random_customer(session, ctx, taken, tries=8)
        if friend is None:
            break
        ctx.clock.advance(timedelta(minutes=ctx.rng.randint(5, 180)))
        joined = participation.join_group(
            session, ctx.cipher, ctx.settings, friend, group, _delivery()
        )
        _paid(session, ctx, joined)
        made += 1
    return made


def _groups(
    factory: sessionmaker[Session], ctx: Context, deal_ids: list[int], plan: tuple[int, ...]
) -> tuple[int, int]:
    groups = members = 0
    for index, paying in enumerate(plan):
        ctx.clock.advance(timedelta(minutes=ctx.rng.randint(10, 90)))
        with factory() as session, session.begin():
            deal = session.get(GroupBuyDeal, deal_ids[index % len(deal_ids)])
            assert deal is not None
            try:
                with session.begin_nested():
                    made = _group(session, ctx, deal, paying)
            except SiyuError:
                # Out of stock at the warehouse for this SKU: the group is not made.
                continue
            groups += 1 if made else 0
            members += made
    return groups, members


def _settle_refunds(factory: sessionmaker[Session], ctx: Context) -> int:
    """What the refund.submit jobs do: send each to the sandbox provider."""
    done = 0
    with factory() as session, session.begin():
        ids = list(
            session.scalars(
                select(Refund.id).where(
                    Refund.status == RefundStatus.PROCESSING,
                    Refund.requested_by == settlement.ACTOR,
                )
            )
        )
        for refund_id in ids:
            submission = refunds.prepare_submission(session, refund_id)
            if submission is None:
                continue
            refunds.record_submission(session, submission, ctx.sandbox.refund(submission.request))
            refund = session.get(Refund, refund_id)
            if refund is not None and refund.status == RefundStatus.SUCCEEDED:
                settlement.on_refunded(session, refund.order_id, is_full=True)
                done += 1
    return done


def _conclude_all(factory: sessionmaker[Session], campaign_id: int) -> int:
    with factory() as session, session.begin():
        ids = list(
            session.scalars(
                select(GroupBuyGroup.id).where(
                    GroupBuyGroup.campaign_id == campaign_id, GroupBuyGroup.status == "open"
                )
            )
        )
        return sum(1 for group_id in ids if settlement.conclude(session, group_id))


def build(factory: sessionmaker[Session], ctx: Context) -> dict[str, int]:
    past_start = ctx.now - timedelta(days=21)
    ctx.clock.set(past_start - timedelta(days=1))
    ended_id, ended_deals = _create(
        factory,
        ctx,
        name="上月老带新拼团",
        starts=past_start,
        ends=past_start + timedelta(days=7),
    )
    ctx.clock.set(past_start + timedelta(hours=2))
    ended_groups, ended_members = _groups(factory, ctx, ended_deals, ENDED_PLAN)
    # Past every deadline: unfilled groups fail and their members are refunded.
    ctx.clock.set(past_start + timedelta(days=3))
    failed = _conclude_all(factory, ended_id)
    refunded = _settle_refunds(factory, ctx)

    ctx.clock.set(ctx.now - timedelta(days=1, hours=1))
    _live_id, live_deals = _create(
        factory,
        ctx,
        name="周末三人拼团",
        starts=ctx.now - timedelta(days=1),
        ends=ctx.now + timedelta(days=6),
    )
    ctx.clock.set(ctx.now - timedelta(hours=12))
    live_groups, live_members = _groups(factory, ctx, live_deals, LIVE_PLAN)
    ctx.clock.set(ctx.now)
    return {
        "campaigns": 2,
        "groups": ended_groups + live_groups,
        "members": ended_members + live_members,
        "groups_failed": failed,
        "refunds": refunded,
    }
