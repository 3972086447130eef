"""The demo brand's lotteries: last month's ended wheel with its draws and claimed goods
prizes, and a live member-day wheel with today's first draws.

Everything goes through the lottery's services (``setup.create``, ``draws.draw``,
``claims.claim``) with the frozen clock moved to each draw's moment. Draws take their
random values from the phase's seeded generator, so the brand is the same on every
run; the live site always uses the operating system's generator.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.lottery import claims, draws, setup
from siyu.campaigns.lottery.schemas import LotteryIn, PrizeIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core.errors import SiyuError
from siyu.demo.offers.checkouts import mall_skus
from siyu.demo.offers.context import DEMO_ADDRESS, Context, pick
from siyu.models.campaign import Campaign, LifecycleStage
from siyu.models.coupon import CouponKind, CouponTemplate, TemplateStatus, ValidityKind
from siyu.models.customer import Customer, CustomerStatus
from siyu.models.lottery import DrawOutcome, PrizeKind

ENDED_DRAWS = 120
LIVE_DRAWS = 40


def _coupon_template(session: Session) -> int | None:
    """An active no-threshold coupon valid for days after issue (made by the offers phase)."""
    return session.scalar(
        select(CouponTemplate.id)
        .where(
            CouponTemplate.status == TemplateStatus.ACTIVE,
            CouponTemplate.kind == CouponKind.NO_THRESHOLD,
            CouponTemplate.validity == ValidityKind.RELATIVE,
            CouponTemplate.total_quantity.is_(None),
        )
        .order_by(CouponTemplate.id)
        .limit(1)
    )


def _prizes(session: Session, *, goods_stock: int) -> list[PrizeIn]:
    prizes = []
    template_id = _coupon_template(session)
    if template_id is not None:
        prizes.append(
            PrizeIn(
                name="无门槛优惠券",
                kind=PrizeKind.COUPON,
                probability=2500,
                stock=200,
                coupon_template_id=template_id,
            )
        )
    prizes.append(
        PrizeIn(
            name="88 积分", kind=PrizeKind.POINTS, probability=3000, stock=500, points_amount=88
        )
    )
    skus = mall_skus(session)
    if skus:
        prizes.append(
            PrizeIn(
                name="会员日好礼",
                kind=PrizeKind.GOODS,
                probability=300,
                stock=goods_stock,
                sku_id=skus[0],
            )
        )
    prizes.append(PrizeIn(name="谢谢参与", kind=PrizeKind.THANKS, probability=0))
    return prizes


def _create(
    factory: sessionmaker[Session],
    ctx: Context,
    *,
    name: str,
    starts: datetime,
    ends: datetime,
    extra: int,
    goods_stock: int,
) -> int:
    with factory() as session, session.begin():
        campaign, _lottery = setup.create(
            session,
            ctx.actor,
            LotteryIn(
                campaign=CampaignFields(
                    name=name,
                    description="每天免费抽奖，会员日多抽两次；实物奖品包邮到家。",
                    touchpoints=["mp", "wecom", "community"],
                    lifecycle_stage=LifecycleStage.RETAIN,
                    budget_amount=500_000,
                    starts_at=starts,
                    ends_at=ends,
                ),
                publish=True,
                chances_per_day=1,
                member_day_extra_chances=extra,
                prizes=_prizes(session, goods_stock=goods_stock),
            ),
        )
        return campaign.id


def _draws(
    factory: sessionmaker[Session], ctx: Context, campaign_id: int, count: int, span: timedelta
) -> tuple[int, int, int]:
    """``count`` draws by random customers spread over ``span`` from the clock's now;
    goods wins are claimed with the demo address. Returns (draws, wins, claims)."""
    made = wins = claimed = 0
    start = ctx.clock.now()
    for index in range(count):
        ctx.clock.set(start + span * index / max(count, 1))
        with factory() as session, session.begin():
            customer_id = pick(
                session, ctx.rng, Customer.id, Customer.id, Customer.status == CustomerStatus.ACTIVE
            )
            campaign = session.get(Campaign, campaign_id)
            if customer_id is None or campaign is None:
                break
            try:
                with session.begin_nested():
                    result = draws.draw(
                        session,
                        campaign,
                        customer_id,
                        random_source=lambda: ctx.rng.randrange(10_000),
                    )
            except SiyuError:
                # This customer already drew today: the next one tries.
                continue
            made += 1
            row = result.draw
            if row.outcome != DrawOutcome.WON:
                continue
            wins += 1
            if row.kind == PrizeKind.GOODS:
                try:
                    with session.begin_nested():
                        claims.claim(
                            session,
                            ctx.cipher,
                            ctx.settings,
                            customer_id,
                            row.public_id,
                            address=dict(DEMO_ADDRESS),
                            touchpoint="mp",
                        )
                    claimed += 1
                except SiyuError:
                    # Out of stock at the warehouse: the prize stays claimable.
                    continue
    return made, wins, claimed


def build(factory: sessionmaker[Session], ctx: Context) -> dict[str, int]:
    past_start = ctx.now - timedelta(days=30)
    ctx.clock.set(past_start - timedelta(days=1))
    ended_id = _create(
        factory,
        ctx,
        name="上月会员日大转盘",
        starts=past_start,
        ends=past_start + timedelta(days=7),
        extra=2,
        goods_stock=5,
    )
    ctx.clock.set(past_start + timedelta(minutes=5))
    ended = _draws(factory, ctx, ended_id, ENDED_DRAWS, timedelta(days=6))
    ctx.clock.set(ctx.now - timedelta(hours=2))
    live_id = _create(
        factory,
        ctx,
        name="会员日幸运转盘",
        starts=ctx.now - timedelta(hours=1),
        ends=ctx.now + timedelta(days=6),
        extra=2,
        goods_stock=10,
    )
    ctx.clock.set(ctx.now - timedelta(minutes=50))
    live = _draws(factory, ctx, live_id, LIVE_DRAWS, timedelta(minutes=45))
    ctx.clock.set(ctx.now)
    return {
        "lotteries": 2,
        "draws": ended[0] + live[0],
        "wins": ended[1] + live[1],
        "goods_claimed": ended[2] + live[2],
    }
