"""Assist test helpers: deals made through the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.assist import service
from siyu.campaigns.assist.schemas import DealIn
from siyu.models.bargain import Assist, AssistDeal, AssistHelp, AssistRewardKind
from siyu.models.campaign import Campaign, HelperDailyTally
from siyu.models.catalog import Sku
from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.order import Order
from tests.campaigns.bargain.factories import campaign_fields
from tests.factories import make_staff, principal_of
from tests.members.mall_factories import make_template
from tests.orders.factories import make_shelf


@dataclass
class Deal:
    campaign: Campaign
    deal: AssistDeal
    gift: Sku | None
    reward_template: CouponTemplate | None
    helper_template: CouponTemplate


def make_assist_deal(
    session: Session,
    *,
    reward_kind: AssistRewardKind = AssistRewardKind.GIFT,
    required_assists: int = 3,
    reward_stock: int = 5,
    daily_help_limit: int = 3,
    time_limit_minutes: int = 24 * 60,
    lasts: timedelta = timedelta(days=3),
) -> Deal:
    gift = None
    reward_template = None
    if reward_kind == AssistRewardKind.GIFT:
        gift = make_shelf(session, prices=(5900,), warehouse_stock=50, store_stock=0).skus[0]
    else:
        reward_template = make_template(session, name="助力解锁 50 元券")
    helper_template = make_template(session, name="助力好友券")
    campaign, deal = service.create(
        session,
        principal_of(make_staff(session)),
        DealIn(
            campaign=campaign_fields(name="0 元领小样", lasts=lasts),
            required_assists=required_assists,
            reward_kind=reward_kind,
            reward_coupon_template_id=reward_template.id if reward_template else None,
            gift_sku_id=gift.id if gift else None,
            reward_stock=reward_stock,
            daily_help_limit=daily_help_limit,
            time_limit_minutes=time_limit_minutes,
            helper_coupon_template_id=helper_template.id,
            publish=True,
        ),
    )
    return Deal(campaign, deal, gift, reward_template, helper_template)


@dataclass(frozen=True)
class Snapshot:
    assists: list[tuple[str, int, str, int | None, int | None]]
    helps: int
    tallies: list[tuple[int, int]]
    coupons: int
    orders: int
    rewards_left: list[int]


def snapshot(session: Session) -> Snapshot:
    session.expire_all()
    return Snapshot(
        assists=[
            (row.public_id, row.assist_count, row.status, row.order_id, row.reward_coupon_id)
            for row in session.scalars(select(Assist).order_by(Assist.id))
        ],
        helps=session.scalar(select(func.count(AssistHelp.id))) or 0,
        tallies=[
            (row.customer_id, row.helps)
            for row in session.scalars(
                select(HelperDailyTally).order_by(HelperDailyTally.customer_id)
            )
        ],
        coupons=session.scalar(select(func.count(Coupon.id))) or 0,
        orders=session.scalar(select(func.count(Order.id))) or 0,
        rewards_left=list(
            session.scalars(select(AssistDeal.reward_stock_left).order_by(AssistDeal.id))
        ),
    )
